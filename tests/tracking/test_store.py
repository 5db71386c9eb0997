"""A fresh tracking store opened by many processes at once is created once and stays usable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.tracking.retry import retry_locked
from artclf.tracking.store import is_database, lock_path

#: What each process does first: open the store the way every artclf command does, then write.
OPEN_AND_WRITE = """
import sys
from mlflow.tracking import MlflowClient
from artclf.tracking.store import ensure_store
uri = sys.argv[1]
ensure_store(uri)
client = MlflowClient(uri)
run = client.create_run("0", run_name=sys.argv[2])
client.log_metric(run.info.run_id, "m", 1.0)
client.set_terminated(run.info.run_id)
"""


@pytest.mark.slow  # 6 processes importing MLflow, 3 times: ~4 min on a busy 2-core CPU
@pytest.mark.parametrize("attempt", range(3))
def test_processes_starting_together_on_a_new_store(tmp_path: Path, attempt: int) -> None:
    uri = f"sqlite:///{tmp_path / f'fresh{attempt}.db'}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AND_WRITE, uri, f"p{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(e[-1500:] for e in errors)
    runs = MlflowClient(uri).search_runs(["0"])
    assert sorted(r.info.run_name for r in runs) == [f"p{i}" for i in range(6)]
    assert all(r.data.metrics == {"m": 1.0} for r in runs)


def test_lock_lives_beside_a_sqlite_file_and_servers_need_none(tmp_path: Path) -> None:
    assert lock_path(f"sqlite:///{tmp_path / 'a.db'}") == tmp_path / "a.db.lock"
    assert is_database("postgresql+psycopg2://u@127.0.0.1/db")
    assert not is_database("http://127.0.0.1:5000")
    assert not is_database(str(tmp_path / "mlruns"))


@pytest.mark.parametrize(
    "message",
    [
        "database is locked",
        "(sqlite3.IntegrityError) UNIQUE constraint failed: datasets.experiment_id",
        "(psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint",
    ],
)
def test_a_write_that_lost_a_race_is_tried_again(message: str) -> None:
    calls: list[int] = []

    def write() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(message)
        return "written"

    assert retry_locked(write) == "written" and len(calls) == 2


def test_other_errors_are_not_retried() -> None:
    calls: list[int] = []

    def write() -> None:
        calls.append(1)
        raise RuntimeError("RESOURCE_ALREADY_EXISTS: registered model 'x' already exists")

    with pytest.raises(RuntimeError, match="already exists"):
        retry_locked(write)
    assert len(calls) == 1
