"""Files saved before the package was laid out in rooms still load and run after the move.

``tests/legacy_files/`` holds what the code of commit bcc8191 (the last before the move)
wrote: a classifier registered as an MLflow Model "from code" (its ``pyfunc_code.py`` imports
``artclf.tracking.pyfunc_model``), a ``last.ckpt`` of the same tiny training (its hyper-
parameters name that day's ``_target_``s), and an Optuna study of one finished trial with the
MLflow store it tracked its runs in."""

from __future__ import annotations

import gzip
import importlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from artclf.runtime.moved import MOVED
from conftest import TINY_SYNTHETIC

LEGACY = Path(__file__).parents[1] / "legacy_files"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_old_module_path_imports_the_module_that_holds_its_code(old: str) -> None:
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_a_model_registered_before_the_move_loads_and_predicts(tmp_path: Path) -> None:
    import mlflow.pyfunc

    model_dir = shutil.copytree(LEGACY / "registered_model", tmp_path / "model")
    assert "artclf.tracking.pyfunc_model" in (model_dir / "pyfunc_code.py").read_text()
    example = json.loads((model_dir / "input_example.json").read_text())
    model = mlflow.pyfunc.load_model(str(model_dir))
    (ranked,) = model.predict(pd.DataFrame(example["data"], columns=example["columns"]))
    assert len(ranked["origin_style"]) == 5
    assert sum(item["probability"] for item in ranked["origin_style"]) <= 1.0 + 1e-6


def test_a_checkpoint_saved_before_the_move_predicts_and_resumes(
    tmp_path: Path, shared_cache: Path, make_cfg
) -> None:
    from artclf.inference.classifier import load_module
    from artclf.training.fit import train

    ckpt = shutil.copy(LEGACY / "last.ckpt", tmp_path / "last.ckpt")
    assert load_module(ckpt).tasks["origin_style"][0] == "AI_art_nouveau"
    cfg = make_cfg(
        f"ckpt_path={ckpt}",
        *TINY_SYNTHETIC,
        f"data.root={shared_cache}/synthetic/seed0_n6x2_px32",  # the checkpoint's was elsewhere
        f"paths.cache_dir={shared_cache}",
        "trainer.max_epochs=2",
        "trainer.accelerator=cpu",
        "callbacks.progress_bar=false",
        "logger=none",
        "test=false",
    )
    assert 0.0 <= train(cfg) <= 1.0


def test_an_optuna_study_started_before_the_move_continues(
    tmp_path: Path, shared_cache: Path, monkeypatch
) -> None:
    from artclf.training.tuning import compose, tune

    shutil.copy(LEGACY / "optuna.db", tmp_path / "optuna.db")
    store = gzip.decompress((LEGACY / "tune_mlflow.db.gz").read_bytes())
    (tmp_path / "mlflow.db").write_bytes(store)
    monkeypatch.chdir(tmp_path)
    cfg = compose(
        [
            "search=train_random",
            "study=legacy",
            "n_trials=2",
            f"tune.storage=sqlite:///{tmp_path}/optuna.db",
            f"logger.tracking_uri=sqlite:///{tmp_path}/mlflow.db",
            f"paths.root_dir={tmp_path}",
            f"paths.cache_dir={shared_cache}",
            *TINY_SYNTHETIC,
            "trainer.max_epochs=1",
            "trainer.accelerator=cpu",
            "callbacks.progress_bar=false",
        ]
    )
    outcome = tune(cfg)
    assert [t.number for t in outcome.study.trials] == [0, 1]
    assert outcome.study.trials[0].value == pytest.approx(0.45)  # the stored trial, as it was
