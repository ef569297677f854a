"""QuickBooks Online: the `Adapter` (a Ledger) and its `OAuth` provider."""

from bridge.ledgers.quickbooks import rules
from bridge.ledgers.quickbooks.adapter import Adapter
from bridge.ledgers.quickbooks.oauth import OAuth

__all__ = ["Adapter", "OAuth", "rules"]
