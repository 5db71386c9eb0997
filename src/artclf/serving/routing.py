"""Which version answers a client: a sticky share of clients goes to the challenger.

A client is its ``X-Client-Id`` header, else its address; its share is a hash of that key,
the same in every process and on every restart, so a client stays with one version for as
long as the split stays where it is, and raising the split only moves clients to the
challenger."""

from __future__ import annotations

import hashlib

CLIENT_HEADER = "x-client-id"
CHAMPION, CHALLENGER, SHADOW = "champion", "challenger", "shadow"


def client_key(header: str | None, address: str | None) -> str:
    return header or address or ""


def share(client: str) -> float:
    """The client's place in [0, 1): the first 8 bytes of its key's sha256."""
    digest = hashlib.sha256(client.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def route(client: str, split: float) -> str:
    """``challenger`` for the clients whose share is below ``split``, else ``champion``."""
    return CHALLENGER if share(client) < split else CHAMPION
