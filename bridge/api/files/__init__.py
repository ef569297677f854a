"""Import files written by the csv ledger."""
