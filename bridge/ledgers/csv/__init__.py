"""The `csv` ledger: import files for accounting software without an API (Xero or QuickBooks CSV layouts)."""

from bridge.ledgers.csv import rules
from bridge.ledgers.csv.adapter import Adapter
from bridge.ledgers.csv.oauth import OAuth

NEEDS_OAUTH = False
"""Connections are active at once; the bridge hands the adapter its files (`Context.files`)."""

__all__ = ["Adapter", "OAuth", "rules", "NEEDS_OAUTH"]
