"""What the `csv` ledger needs from its storage: append an entry once per key, read documents back.

`bridge.sync.csv_files` implements it on the database, so every worker and web process sees the same
files (DESIGN.md "Scale beyond one machine": no state in a process or on one machine's disk).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass
class Entry:
    """One document's rows in one import file, written under the operation's request key."""

    request_key: str
    object: str
    ledger_id: str
    file: str
    text: str
    row_count: int
    document: dict


class ImportFiles(Protocol):
    """A connection's import files."""

    def append(self, entry: Entry) -> Entry:
        """Append the entry unless one with its request key exists; the entry stored under that key."""

    def latest(self, obj: str, ledger_id: str) -> dict | None:
        """The last document written with this ledger id (JSON-safe), or None."""

    def documents(self, obj: str) -> list[tuple[str, dict]]:
        """(ledger id, last document) of every document of a kind, newest first."""
