"""Item 5 end to end: kill -9 a training at a random moment, resume it from last.ckpt, and
get the metrics of a run that was never stopped, in the same (single) MLflow run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fault_helpers import run_cli, runs_in

from conftest import TINY_SYNTHETIC

ARGS = (
    *TINY_SYNTHETIC,
    "trainer.max_epochs=4",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "aug=light",
    "model.dropout=0.3",
    "callbacks.early_stopping.enabled=false",
    "callbacks.progress_bar=false",
)
COMPARED = ("val/acc", "val/loss", "train/loss", "test/acc", "test/loss")


def final_metrics(store: Path) -> dict[str, float]:
    (run,) = runs_in(store)
    assert run.info.status == "FINISHED"
    return {key: run.data.metrics[key] for key in COMPARED}


@pytest.mark.slow  # three tiny trainings through the command line: ~3 min on a busy 2-core box
def test_killed_training_resumes_to_the_same_metrics_in_the_same_run(tmp_path: Path) -> None:
    whole, part = tmp_path / "whole", tmp_path / "part"
    for home in (whole, part):
        home.mkdir()
    done = run_cli("train", *ARGS, f"hydra.run.dir={whole}/run", home=whole, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    expected = final_metrics(whole / "mlflow.db")

    env = {**os.environ, "ARTCLF_HOME": str(part)}
    command = [sys.executable, "-m", "artclf.train", *ARGS, f"hydra.run.dir={part}/run"]
    victim = subprocess.Popen(command, env=env, cwd=part, stderr=subprocess.DEVNULL)
    last = part / "run" / "checkpoints" / "last.ckpt"
    while not last.exists() and victim.poll() is None:
        time.sleep(0.2)
    time.sleep(random.uniform(0.0, 4.0))  # anywhere in the epochs after the first
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    (killed,) = runs_in(part / "mlflow.db")
    resumed = run_cli(
        "train", *ARGS, f"hydra.run.dir={part}/run", f"ckpt_path={last}", home=part, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    if killed.info.status == "RUNNING":  # killed before it finished: closed, then reopened
        assert f"marked run {killed.info.run_id}" in resumed.stdout + resumed.stderr
    (run,) = runs_in(part / "mlflow.db")
    assert run.info.run_id == killed.info.run_id
    assert final_metrics(part / "mlflow.db") == expected
