"""Subjects of credit information: persons (one person, one identity) and organisations."""
