"""The notes resource."""
