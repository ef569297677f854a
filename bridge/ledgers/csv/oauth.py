"""The `csv` ledger has no OAuth: a connection is active as soon as it is made."""

from __future__ import annotations

from bridge.ledgers.base import OAuthProvider


class OAuth(OAuthProvider):
    """Nothing to authorize, refresh or revoke."""

    NAME = "csv"

    def authorization_url(self, redirect_uri: str, state: str, code_verifier: str | None = None) -> str:
        """Never called: csv connections skip the grant."""
        raise NotImplementedError("the csv ledger needs no authorization")

    def revoke(self, token) -> None:
        """Nothing to revoke."""
