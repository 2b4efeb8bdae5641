"""Conclave: self-hosted end-to-end-encrypted video conferencing."""
