"""Data protection helpers: address truncation, privacy notice data."""
