"""Benchmarks run by ``pingyi bench …``; each returns a dict printed as one JSON line."""
