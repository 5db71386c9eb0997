"""What a new user meets on a first tiny training from the command line: the output holds no
line they can do nothing about, the run folder keeps two checkpoints, and the MLflow store's
experiments open as model training."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.tracking.experiments import KIND_TAG, MODEL_TRAINING
from conftest import TINY_SYNTHETIC, artifact_paths, run_artclf

#: Lines every run printed before (issue 26), each removed at its source or in runtime.quiet.
NOISE = ("FLOPs", "Validating input example", "ExperimentalWarning", "LPIPS skipped")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    """``python -m artclf.train`` for 3 epochs on the tiny embedded set, in a fresh home."""
    home = tmp_path_factory.mktemp("first-day")
    args = ("trainer.max_epochs=3", "callbacks.early_stopping.enabled=false")
    store = {"MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}  # not an earlier test's
    done = run_artclf(home, shared_cache, "artclf.train", *TINY_SYNTHETIC, *args, env=store)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"home": home, "output": done.stdout + done.stderr}


def test_the_output_has_no_known_noise_and_keeps_the_parameter_count(first_run: dict) -> None:
    output = first_run["output"]
    for noise in NOISE:
        assert noise not in output, noise
    assert "Total params" in output  # the model summary is still there, without FLOPs


def test_a_run_keeps_its_best_and_last_checkpoint_only(first_run: dict) -> None:
    (run_dir,) = (first_run["home"] / "outputs" / "runs").iterdir()
    kept = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert len(kept) == 2 and "last.ckpt" in kept, kept
    client = MlflowClient(f"sqlite:///{first_run['home'] / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    logged = artifact_paths(str(client.tracking_uri), run.info.run_id, "checkpoints")
    assert len(logged) == 1  # the best checkpoint, logged once


def test_the_store_opens_as_model_training_without_none_tags(first_run: dict) -> None:
    client = MlflowClient(f"sqlite:///{first_run['home'] / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artclf-train")
    assert experiment.tags[KIND_TAG] == MODEL_TRAINING
    (run,) = client.search_runs([experiment.experiment_id])
    choices = {k: v for k, v in run.data.tags.items() if k.startswith("choice.")}
    assert choices["choice.model"] == "simple_cnn_32"
    assert "None" not in choices.values() and "choice.debug" not in choices
