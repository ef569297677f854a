"""Encryption at rest for tokens and secrets: MultiFernet over BRIDGE_SECRET_KEY."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"


def load_keys(secret: str | None, instance_path: str) -> MultiFernet:
    """MultiFernet from comma-separated keys, or from a key generated once into the instance folder."""
    if secret:
        keys = [k.strip() for k in secret.split(",") if k.strip()]
        return MultiFernet([Fernet(k.encode()) for k in keys])
    path = Path(instance_path) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
        log.warning("BRIDGE_SECRET_KEY is not set: generated a key into %s (keep it; set "
                    "BRIDGE_SECRET_KEY in production)", path)
    return MultiFernet([Fernet(path.read_bytes().strip())])


class Vault:
    """Encrypts and decrypts JSON-able values with the app's keys."""

    def __init__(self, fernet: MultiFernet):
        self.fernet = fernet

    def seal(self, value) -> str:
        """Encrypt a JSON-able value."""
        return self.fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str | None):
        """Decrypt a sealed value (None stays None)."""
        if sealed is None:
            return None
        try:
            return json.loads(self.fernet.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise ValueError("cannot decrypt: BRIDGE_SECRET_KEY lacks the key that sealed it") from exc

    def rotate(self, sealed: str) -> str:
        """Re-encrypt with the first (current) key."""
        return self.fernet.rotate(sealed.encode()).decode()
