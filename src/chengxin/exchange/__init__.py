"""Exchange with other platforms: the signed change feed, pulling, list import."""
