"""The connections resource."""
