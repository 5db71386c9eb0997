"""The champion's history lives in the registry (``artclf.champion_history``): every promotion
appends to it, ``action=rollback`` moves ``@champion`` back one step, and a rollback with no
earlier champion says so in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_helpers import tiny_store, use_store

from artclf.registry import run as registry_run
from artclf.tracking.registry import CHAMPION, HISTORY_TAG, rollback_champion, set_champion
from conftest import compose_cfg


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    return tiny_store(tmp_path_factory, shared_cache)  # its database: one fewer to create


def test_promotions_append_and_rollbacks_step_back(
    store: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    use_store(store, monkeypatch)
    uri, client = store["uri"], store["client"]
    client.create_registered_model("m")
    for _ in range(3):
        client.create_model_version("m", source=str(tmp_path))
    client.set_registered_model_alias("m", CHAMPION, "1")  # as registration sets it

    def state() -> tuple[str, str]:
        model = client.get_registered_model("m")
        return str(model.aliases[CHAMPION]), model.tags.get(HISTORY_TAG, "")

    with pytest.raises(ValueError, match="no earlier champion to roll back to"):
        rollback_champion("m")
    set_champion("m", "2", "Promoted v2", expected="1")
    assert state() == ("2", "1,2")  # the first champion joins the history on the first move
    set_champion("m", "3", "Promoted v3", expected="2")
    assert state() == ("3", "1,2,3")

    cfg = compose_cfg(
        "registry", tmp_path, "action=rollback", "name=m", f"logger.tracking_uri={uri}"
    )
    registry_run(cfg)
    assert capsys.readouterr().out.strip() == "rolled back m@champion to v2"
    assert state() == ("2", "1,2")
    assert "rolled back from v3" in client.get_model_version("m", "2").description
    assert rollback_champion("m") == "1"
    assert state() == ("1", "1")
    with pytest.raises(ValueError, match=r"no earlier champion .*history: v1\)"):
        rollback_champion("m")

    client.set_registered_model_alias("m", CHAMPION, "3")  # moved by hand in the MLflow UI
    assert rollback_champion("m") == "1"  # back to the last champion artclf knew


def test_rollback_needs_a_model_name(tmp_path: Path) -> None:
    cfg = compose_cfg("registry", tmp_path, "action=rollback")
    with pytest.raises(ValueError, match="action=rollback needs name="):
        registry_run(cfg)
