"""Persistence: SQL only, in named transactions, returning frozen records."""
