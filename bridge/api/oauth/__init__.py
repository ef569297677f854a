"""The oauth resource."""
