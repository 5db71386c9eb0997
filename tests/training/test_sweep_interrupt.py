"""A sweep stopped with Ctrl-C still gets its parent summary: the leaderboard of the jobs that
finished, the best of them, and a KILLED parent run (basic and joblib launchers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import TINY_SYNTHETIC

TINY = (*TINY_SYNTHETIC, "trainer.max_epochs=2", "trainer.accelerator=cpu", "seed=1,2,3,4")


def started_jobs(tmp_path: Path) -> int:
    """Child runs of the sweep so far (0 until its parent run exists)."""
    if not list(tmp_path.glob("**/multiruns/*/.mlflow_parent_run_id")):
        return 0  # the store may still be being created: do not open it yet
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("artclf-train")
    runs = client.search_runs([experiment.experiment_id])
    return sum("mlflow.parentRunId" in r.data.tags for r in runs)


def interrupt_after_first_job(
    tmp_path: Path, shared_cache: Path, n_jobs: int, *launcher: str
) -> str:
    """Start ``train -m`` over 4 seeds, press Ctrl-C (SIGINT to its process group, as a
    terminal does) once a job has ended (a worker has started the job after its first);
    the command's output."""
    log = tmp_path / "sweep.log"
    with open(log, "w") as out:
        sweep = subprocess.Popen(
            [sys.executable, "-m", "artclf.train", "-m", *launcher, *TINY],
            cwd=tmp_path,
            env={**os.environ, "ARTCLF_HOME": str(tmp_path), "ARTCLF_CACHE": str(shared_cache)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 600
        while sweep.poll() is None and time.monotonic() < deadline:
            if started_jobs(tmp_path) > n_jobs:
                break
            time.sleep(1)
        assert sweep.poll() is None, log.read_text()[-3000:]
        os.killpg(sweep.pid, signal.SIGINT)
        sweep.wait(timeout=300)
    return log.read_text()


def check_summary(tmp_path: Path, output: str) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("artclf.role") == "sweep"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    done = [c for c in children if c.info.status == "FINISHED"]
    assert parent.info.status == "KILLED", output[-3000:]
    assert 1 <= len(done) < 4 and len(children) >= len(done)
    statuses = {c.info.run_name: c.info.status for c in children}
    assert set(statuses.values()) <= {"FINISHED", "KILLED"}, (statuses, output[-3000:])
    board = client.download_artifacts(
        parent.info.run_id, "leaderboard/leaderboard.csv", str(tmp_path)
    )
    table = pd.read_csv(board)
    assert sorted(table["run_id"]) == sorted(c.info.run_id for c in done)
    assert parent.data.tags["best_child.run_id"] == table["run_id"][0]
    best = max(c.data.metrics["best/val/acc"] for c in done)
    assert parent.data.metrics["best/val/acc"] == table["best/val/acc"][0] == best
    assert "the sweep stopped early" in output


@pytest.mark.slow  # 2-3 tiny trainings, one after the other: ~2 min on a busy 2-core CPU
def test_ctrl_c_on_a_sequential_sweep_leaves_its_summary(
    tmp_path: Path, shared_cache: Path
) -> None:
    check_summary(tmp_path, interrupt_after_first_job(tmp_path, shared_cache, 1))


@pytest.mark.slow
def test_ctrl_c_on_a_parallel_sweep_leaves_its_summary(tmp_path: Path, shared_cache: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'artclf[scale]'")
    launcher = ("hydra/launcher=parallel", "hydra.launcher.n_jobs=2")
    check_summary(tmp_path, interrupt_after_first_job(tmp_path, shared_cache, 2, *launcher))
