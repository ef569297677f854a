"""The ledger's reference data resource: accounts, tax rates, items, customers."""
