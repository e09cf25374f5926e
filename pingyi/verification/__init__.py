"""Verifiable results: a closed campaign's seal (a digest over its ballots' canonical rows),
the counted receipt codes, the anonymised export anyone can recount, and the check of both."""
