"""Item 5, tracking side: runs whose process died are closed, and a resumed training
continues the MLflow run that wrote its checkpoint."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from fault_helpers import runs_in
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from artclf.tracking.lifecycle import HOST_TAG, PID_TAG, close_stale_runs, process_tags
from artclf.tracking.logger import lightning_logger
from artclf.train import train
from conftest import TINY_SYNTHETIC


def test_running_run_of_a_dead_process_is_marked_killed(tmp_path: Path, caplog) -> None:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("artclf")
    dead = subprocess.Popen(["true"])
    dead.wait()
    gone = client.create_run(experiment, tags={**process_tags(), PID_TAG: str(dead.pid)})
    alive = client.create_run(experiment, tags=process_tags())  # this very process
    elsewhere = client.create_run(
        experiment, tags={HOST_TAG: "another-host", PID_TAG: str(dead.pid)}
    )
    with caplog.at_level(logging.WARNING):
        close_stale_runs(client, experiment)
    status = {r.info.run_id: r.info.status for r in client.search_runs([experiment])}
    assert status[gone.info.run_id] == "KILLED"
    assert status[alive.info.run_id] == status[elsewhere.info.run_id] == "RUNNING"
    assert f"marked run {gone.info.run_id}" in caplog.text and "KILLED" in caplog.text


def test_resume_continues_the_same_mlflow_run(make_cfg, tmp_path: Path) -> None:
    store = tmp_path / "mlflow.db"
    common = (
        *TINY_SYNTHETIC,
        "trainer.accelerator=cpu",
        "callbacks.progress_bar=false",
        f"logger.tracking_uri=sqlite:///{store}",
    )
    train(make_cfg(*common, "trainer.max_epochs=1"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    train(make_cfg(*common, "trainer.max_epochs=2", f"ckpt_path={last}"))
    (run,) = runs_in(store)
    assert run.info.status == "FINISHED"
    assert run.data.tags["artclf.resumed_from"] == str(last)
    history = MlflowClient(f"sqlite:///{store}").get_metric_history(run.info.run_id, "val/acc")
    assert len({m.step for m in history}) == 2  # both epochs' validation, in the one run


def test_lightning_leaves_the_run_status_to_start_run(tmp_path: Path) -> None:
    """A sweep's worker killed during Lightning's Ctrl-C shutdown must leave its run RUNNING
    (the summary then marks it KILLED), not FAILED as Lightning's own logger would."""
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("artclf-train")
    run = client.create_run(experiment)
    cfg = OmegaConf.create(
        {"logger": {"experiment_name": "artclf-train", "tracking_uri": client.tracking_uri}}
    )
    for status in ("success", "failed"):
        logger = lightning_logger(cfg, run, tmp_path)
        logger.log_metrics({"train/loss": 1.0})
        logger.finalize(status)
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
