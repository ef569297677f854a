"""The alerts resource."""
