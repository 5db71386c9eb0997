"""Preemption: SIGTERM (what SLURM and Kubernetes send) in the middle of an epoch saves a
resumable checkpoint at once, ends the run KILLED with the reason and exits 143; resumed,
the run ends exactly where an unstopped one does and continues the same MLflow run."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import lightning as L
import pytest
import torch
from fault_helpers import assert_one_error_line, run_cli
from lightning.pytorch.callbacks import Callback
from mlflow.tracking import MlflowClient

from artclf.tracking.lifecycle import STOPPED_TAG, Interrupted
from artclf.train import train
from conftest import TINY_SYNTHETIC

BASE = (
    *TINY_SYNTHETIC,
    "data.batch_size=16",  # 10 batches an epoch: room to stop in the middle of one
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "aug=light",  # augmentation and the training order both draw from the random state
    "model.dropout=0.3",
    "callbacks.early_stopping.enabled=false",
    "callbacks.progress_bar=false",
    "test=false",
)


class SigtermAt(Callback):
    """Sends this process SIGTERM during batch ``batch`` of epoch ``epoch``."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer: L.Trainer, pl_module, batch, batch_idx: int) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            os.kill(os.getpid(), signal.SIGTERM)


def metric_history(store: str, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in MlflowClient(store).get_metric_history(run_id, key)]


@pytest.mark.slow  # three tiny trainings of 3 epochs
def test_sigterm_saves_then_resume_ends_where_an_unstopped_run_does(
    make_cfg, tmp_path: Path
) -> None:
    store = f"sqlite:///{tmp_path}/mlflow.db"
    tracked = (*BASE, "trainer.max_epochs=3", f"logger.tracking_uri={store}")
    whole_score = train(make_cfg(*tracked, f"paths.run_dir={tmp_path / 'whole'}"))

    part = make_cfg(*tracked, f"paths.run_dir={tmp_path / 'part'}")
    with pytest.raises(Interrupted) as stopped:
        train(part, extra_callbacks=[SigtermAt(epoch=1, batch=5)])
    assert stopped.value.code == 143
    last = tmp_path / "part/checkpoints/last.ckpt"
    state = torch.load(last, weights_only=True)
    progress = state["loops"]["fit_loop"]["epoch_loop.batch_progress"]["current"]
    assert state["epoch"] == 1 and progress["completed"] == 6  # saved at once, mid-epoch
    assert state["ArtDataModule"]["train_order_seed"] is not None  # the epoch's order
    client = MlflowClient(store)
    runs = client.search_runs(client.get_experiment_by_name("artclf-train").experiment_id)
    (killed,) = [r for r in runs if r.info.status == "KILLED"]
    assert "SIGTERM" in killed.data.tags[STOPPED_TAG] and str(last) in killed.data.tags[STOPPED_TAG]

    resumed = make_cfg(*tracked, f"ckpt_path={last}", f"paths.run_dir={tmp_path / 'part'}")
    assert train(resumed) == whole_score
    done = client.get_run(killed.info.run_id)  # the same MLflow run, finished, reason gone
    assert done.info.status == "FINISHED" and STOPPED_TAG not in done.data.tags
    (whole,) = [r for r in runs if r.info.run_id != killed.info.run_id]
    for key in ("val/loss", "val/acc"):  # each epoch's, after the stop too
        history = metric_history(store, whole.info.run_id, key)
        assert len(history) == 3 and metric_history(store, done.info.run_id, key) == history, key
    best = metric_history(store, whole.info.run_id, "best/val/acc")
    assert metric_history(store, done.info.run_id, "best/val/acc") == best


@pytest.mark.slow
def test_sigterm_to_the_command_exits_non_zero_with_a_checkpoint(tmp_path: Path) -> None:
    """The whole command, as SLURM stops it: the exit code says it did not finish."""
    import subprocess
    import sys
    import time

    env = {**os.environ, "ARTCLF_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    args = [*BASE, "trainer.max_epochs=200", "logger=none", f"paths.run_dir={tmp_path / 'run'}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "artclf.train", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = tmp_path / "run/checkpoints/last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and time.monotonic() < deadline:  # past the first epoch
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 143, output[-2000:]
    assert "SIGTERM: saved a resumable checkpoint" in output
    assert "Traceback" not in output
    epoch = torch.load(last, weights_only=True)["epoch"]
    too_few = run_cli("train", *BASE, "trainer.max_epochs=1", "logger=none", f"ckpt_path={last}",
                      home=tmp_path) if epoch > 1 else None  # fmt: skip
    if too_few is not None:  # past max_epochs: one line, not Lightning's traceback
        assert_one_error_line(too_few, f"set trainer.max_epochs above {epoch}")
    resumed = run_cli("train", *BASE, f"trainer.max_epochs={epoch + 1}", "logger=none",
                      f"ckpt_path={last}", home=tmp_path)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-2000:]
