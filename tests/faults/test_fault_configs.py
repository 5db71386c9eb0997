"""Item 10 (and 13): every bad config or unusable store is exit code 2 with one ``error:``
line, found before an MLflow run exists."""

from __future__ import annotations

from pathlib import Path

import pytest
from fault_helpers import (
    FAST,
    assert_one_error_line,
    exits_with_one_line,
    free_port,
    run_cli,
    runs_in,
)

from conftest import TINY_SYNTHETIC


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("trainer.max_epochs=0", "trainer.max_epochs"),
        ("trainer.max_epochs=ten", "trainer.max_epochs"),
        ("data.image_size=7", "data.image_size=7"),
        ("model.image_size=0", "model.image_size"),
        ("optim.lr=abc", "optim.lr"),
        ("optim.lr=-1", "optim.lr"),
        ("data.batch_size=0", "data.batch_size"),
        ("data.val_fraction=1.5", "data.val_fraction"),
    ],
)
def test_bad_value_is_one_line_and_creates_no_run(make_cfg, tmp_path, capsys, override, names):
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(*FAST, override, f"logger.tracking_uri=sqlite:///{store}")
    assert names in exits_with_one_line(cfg, capsys)
    assert runs_in(store) == []


def test_unwritable_store_is_one_line(make_cfg, tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("")
    cfg = make_cfg(*FAST, f"logger.tracking_uri=sqlite:///{tmp_path}/afile/mlflow.db")
    assert "tracking store" in exits_with_one_line(cfg, capsys)


def test_unreachable_server_fails_fast_in_one_line(make_cfg, capsys) -> None:
    cfg = make_cfg(*FAST, f"logger.tracking_uri=http://127.0.0.1:{free_port()}")
    assert "did not answer" in exits_with_one_line(cfg, capsys)


def test_unwritable_run_folder_is_one_line(make_cfg, tmp_path, capsys) -> None:
    (tmp_path / "afile").write_text("")
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(
        *FAST, f"paths.run_dir={tmp_path}/afile/run", f"logger.tracking_uri=sqlite:///{store}"
    )
    assert "run folder" in exits_with_one_line(cfg, capsys)
    assert runs_in(store) == []


@pytest.mark.parametrize(
    "where",
    [
        "hydra.run.dir={file}",
        pytest.param("paths.root_dir={file}/home", marks=pytest.mark.slow),  # ~35 s, busy CPU
    ],
)
def test_a_file_as_the_output_location_is_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "afile").write_text("")
    done = run_cli("train", where.format(file=tmp_path / "afile"), home=tmp_path)
    assert_one_error_line(done, str(tmp_path / "afile"))
    assert runs_in(tmp_path / "mlflow.db") == []


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("trainer.max_epochs=-1", "trainer.max_epochs=-1; must be an integer ≥ 1"),
        ("seed=abc", "seed='abc'; must be an integer"),
        ("callbacks.early_stopping.patience=-1", "callbacks.early_stopping.patience=-1"),
        ("data.resize=stretch", "data.resize='stretch'; valid choices: crop, squash, pad"),
        ("data.val_fraction=0", "data.val_fraction=0 leaves no validation images"),
        ("trainer.accelerator=cpu trainer.devices=64", "trainer.devices=64 CPU processes"),
    ],
)
def test_config_mistakes_are_one_line_before_any_run(
    make_cfg, tmp_path, capsys, override, names
) -> None:
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(*FAST, *override.split(), f"logger.tracking_uri=sqlite:///{store}")
    assert names in exits_with_one_line(cfg, capsys)
    assert runs_in(store) == []


def test_a_gpu_trainer_without_a_gpu_is_one_line(make_cfg, capsys, monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = make_cfg(*TINY_SYNTHETIC, "trainer=gpu", "logger=none")
    assert "no CUDA GPU; use trainer=default" in exits_with_one_line(cfg, capsys)


def test_a_database_store_without_its_driver_is_one_line(make_cfg, capsys, monkeypatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg2" else real(name, *a)
    )
    cfg = make_cfg(*FAST, "logger.tracking_uri=postgresql://u:secret@127.0.0.1:5/mlflow")
    line = exits_with_one_line(cfg, capsys)
    assert "driver psycopg2 is not installed; install psycopg2-binary" in line
    assert "secret" not in line  # the password is not printed
