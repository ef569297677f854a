"""The providers resource."""
