"""Oversight (督导): what a parent tenant (a county committee) may read of the tenants below it.
Each subordinate is read one at a time in its own scope, and only in aggregates."""
