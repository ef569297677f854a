"""Xero: the `Adapter` (a Ledger) and its `OAuth` provider."""

from bridge.ledgers.xero import rules
from bridge.ledgers.xero.adapter import Adapter
from bridge.ledgers.xero.oauth import OAuth

__all__ = ["Adapter", "OAuth", "rules"]
