"""The writes resource."""
