"""A finished run registered after the fact (``registry action=register run=<id>``) gets the
tags training writes, the name training would have used, and ``@champion`` when the model has
none; ``promote`` on a model without a champion sets its first; training says what it
registered."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.registry import run
from artclf.tracking.registry import CHALLENGER, CHAMPION
from artclf.train import train
from conftest import compose_cfg, tiny_training


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """Two finished tiny runs that registered nothing."""
    home = tmp_path_factory.mktemp("register")
    uri = f"sqlite:///{home}/mlflow.db"
    for seed in (1, 2):
        train(
            compose_cfg(
                "train", home / f"s{seed}", *tiny_training(shared_cache, uri), f"seed={seed}"
            )
        )
    client = MlflowClient(uri)
    runs = client.search_runs(client.get_experiment_by_name("artclf-train").experiment_id)
    return {"home": home, "uri": uri, "client": client, "runs": [r.info.run_id for r in runs]}


def registry(trained: dict, *overrides: str) -> None:
    run(
        compose_cfg(
            "registry", trained["home"], f"logger.tracking_uri={trained['uri']}", *overrides
        )
    )


def test_register_a_finished_run_then_another(trained: dict, capsys) -> None:
    first, second = trained["runs"]
    registry(trained, "action=register", f"run={first}")
    assert "registered synthetic-origin_style v1 as @champion" in capsys.readouterr().out
    registry(trained, "action=register", f"run={second}", "name=mine")
    registry(trained, "action=register", f"run={first}", "name=mine")
    assert capsys.readouterr().out.splitlines()[-1] == "registered mine v2 as @challenger"
    version = trained["client"].get_model_version("synthetic-origin_style", "1")
    assert 0 <= float(version.tags["test/acc"]) <= 1 and version.tags["artclf.data_fingerprint"]


def test_promote_sets_the_first_champion_of_a_model_registered_elsewhere(trained, capsys):
    client = trained["client"]
    client.create_registered_model("plain")  # registered with plain MLflow: no alias at all
    client.create_model_version("plain", source="runs:/x/model", run_id=trained["runs"][0])
    client.set_registered_model_alias("plain", CHALLENGER, "1")
    registry(trained, "action=promote", "name=plain")
    assert "promoted v1 to @champion (the first" in capsys.readouterr().out
    assert str(client.get_registered_model("plain").aliases[CHAMPION]) == "1"


def test_a_bad_run_id_is_one_line(trained: dict) -> None:
    with pytest.raises(ValueError, match="pass the id of a finished training run"):
        registry(trained, "action=register", "run=0123456789abcdef")


def test_training_says_what_it_registered(tmp_path: Path, shared_cache: Path, caplog) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    cfg = compose_cfg("train", tmp_path, *tiny_training(shared_cache, uri), "logger.register=true")
    with caplog.at_level(logging.INFO):
        train(cfg)
    assert "registered synthetic-origin_style v1 as @champion" in caplog.text
