"""The syncs resource."""
