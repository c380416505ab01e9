"""Display periods (展示期限), expiry, and what the public may see."""
