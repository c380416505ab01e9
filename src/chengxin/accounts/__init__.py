"""Users, API keys, tokens, roles and the one permission check."""
