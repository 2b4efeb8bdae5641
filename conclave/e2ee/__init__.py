"""End-to-end encryption of media."""
