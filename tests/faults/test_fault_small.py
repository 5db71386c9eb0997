"""The small faults of the probe: a run killed with kill -9 is closed by the next command of
any kind, a half-migrated SQLite store is repaired, a full disk is one line naming the
folder, and a folder, a zip without a version record or a classifier checkpoint where a
style network belongs are one line each."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import mlflow
import pytest
import torch
from mlflow.tracking import MlflowClient

from artclf.runtime.cli import run_or_exit
from artclf.tracking import lifecycle, store
from artclf.weights import checkpoints

LEGACY_CKPT = Path(__file__).parents[1] / "legacy_files" / "last.ckpt"


def one_line(capsys, fn, *args) -> str:
    with pytest.raises(SystemExit) as exited:
        run_or_exit(fn, *args)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err, err
    return err


def test_a_killed_run_is_closed_by_the_next_command_of_any_kind(tmp_path: Path) -> None:
    from artclf.tracking.queries import connect

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    experiment = client.create_experiment("artclf-evaluate")
    dead = subprocess.Popen(["true"])
    dead.wait()
    run = client.create_run(
        experiment,
        tags={lifecycle.HOST_TAG: socket.gethostname(), lifecycle.PID_TAG: str(dead.pid)},
    )
    store._READY.discard(uri)  # this process opens the store anew, as a new command does
    connect(uri)  # what evaluate, the registry, report and the app do first
    closed = client.get_run(run.info.run_id)
    assert closed.info.status == "KILLED" and lifecycle.FAILURE_TAG in closed.data.tags


@pytest.mark.parametrize("table_left", [True, False])
def test_an_interrupted_migration_is_repaired(tmp_path: Path, table_left: bool) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    MlflowClient(uri).create_experiment("kept")
    with sqlite3.connect(tmp_path / "mlflow.db") as db:  # what a kill mid-batch leaves
        db.execute("CREATE TABLE _alembic_tmp_experiments AS SELECT * FROM experiments")
        if not table_left:
            db.execute("DROP TABLE experiments")
    done = store.repair_interrupted_migration(uri)
    assert len(done) == 1 and ("dropped" if table_left else "restored") in done[0]
    mlflow.set_tracking_uri(uri)
    store._READY.discard(uri)
    store.ensure_store(uri)
    assert MlflowClient(uri).get_experiment_by_name("kept") is not None


def test_a_full_disk_while_checkpointing_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    def full(*args, **kwargs):
        raise RuntimeError(
            "[enforce fail at inline_container.cc:664] . PytorchStreamWriter failed writing "
            "file data/0: file write failed"
        )

    monkeypatch.setattr(torch, "save", full)
    writer = checkpoints.AtomicCheckpointIO()
    line = one_line(capsys, writer.save_checkpoint, {"state_dict": {}}, tmp_path / "last.ckpt")
    assert f"no space left on the disk of {tmp_path}" in line and "inline_container" not in line
    assert not list(tmp_path.iterdir())  # no piece left behind


def test_a_folder_as_ckpt_path_says_so(tmp_path: Path, capsys) -> None:
    (tmp_path / "last.ckpt").write_bytes(b"")
    line = one_line(capsys, checkpoints.read, tmp_path)
    assert "is a folder (it holds last.ckpt); pass the .ckpt file itself" in line


def test_a_zip_without_a_version_record_is_one_line(tmp_path: Path, capsys) -> None:
    fake = tmp_path / "model.ckpt"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("archive/data.pkl", b"not a torch checkpoint")
    assert "is truncated or corrupt" in one_line(capsys, checkpoints.read, fake)


@pytest.mark.parametrize("loader", ["adain", "cyclegan"])
def test_a_classifier_checkpoint_given_to_stylize_is_one_line(capsys, loader: str) -> None:
    from artclf.style.adain_model import load_adain
    from artclf.style.cyclegan import load_cyclegan

    load = {"adain": load_adain, "cyclegan": load_cyclegan}[loader]
    line = one_line(capsys, load, str(LEGACY_CKPT))
    assert "is not a checkpoint of `artclf.train experiment=" in line
