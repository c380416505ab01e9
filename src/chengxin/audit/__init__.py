"""Append-only, hash-chained audit log of every change and every read of personal data."""
