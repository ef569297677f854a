"""The REST hooks resource."""
