"""The trigger feeds resource."""
