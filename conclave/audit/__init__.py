"""The audit log of security and administrative events (never meeting content or chat)."""
