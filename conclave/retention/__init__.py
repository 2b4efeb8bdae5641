"""Retention: how long each kind of personal data is kept, and the purge job."""
