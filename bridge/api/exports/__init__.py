"""Exports of invoices with their sync status."""
