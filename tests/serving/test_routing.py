"""The challenger's share of clients: sticky (one client, one version, in every process), the
size asked for, and growing it only moves clients towards the challenger."""

from __future__ import annotations

import subprocess
import sys

from artclf.serving.routing import CHALLENGER, CHAMPION, client_key, route, share


def test_a_client_keeps_its_version_and_the_split_holds() -> None:
    clients = [f"client-{i}" for i in range(20_000)]
    routes = [route(c, 0.1) for c in clients]
    assert routes == [route(c, 0.1) for c in clients]  # sticky
    assert abs(routes.count(CHALLENGER) / len(clients) - 0.1) < 0.01
    wider = [route(c, 0.3) for c in clients]
    assert all(w == CHALLENGER for r, w in zip(routes, wider, strict=True) if r == CHALLENGER)
    assert {route(c, 0.0) for c in clients} == {CHAMPION}
    assert {route(c, 1.0) for c in clients} == {CHALLENGER}


def test_the_share_is_the_same_in_another_process() -> None:
    """Not Python's ``hash``, which differs per process."""
    code = "from artclf.serving.routing import share; print(repr(share('alice')))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert float(other.stdout) == share("alice")


def test_the_header_names_the_client_else_its_address() -> None:
    assert client_key("team-7", "10.0.0.1") == "team-7"
    assert client_key(None, "10.0.0.1") == "10.0.0.1"
