"""FreshBooks: the `Adapter` (a Ledger), its `OAuth` provider and its pre-queue `rules`."""

from bridge.ledgers.freshbooks import rules
from bridge.ledgers.freshbooks.adapter import Adapter
from bridge.ledgers.freshbooks.oauth import OAuth

__all__ = ["Adapter", "OAuth", "rules"]
