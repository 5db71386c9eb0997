"""``trainer=ddp`` on 2 CPU processes (gloo): one MLflow run with every report of a
one-process run, and test metrics equal to ``artclf.evaluate`` on the same checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.evaluate import evaluate
from conftest import TINY_SYNTHETIC, artifact_paths, compose_cfg, run_artclf


@pytest.mark.slow  # two spawned training processes plus a test: ~2 min on a busy 2-core CPU
def test_ddp_on_two_cpu_processes_keeps_every_report(tmp_path: Path, shared_cache: Path) -> None:
    ddp = (
        "trainer=ddp",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
        "trainer.precision=32-true",
    )
    tiny = (*TINY_SYNTHETIC, "trainer.max_epochs=2", "callbacks.progress_bar=false")
    done = run_artclf(tmp_path, shared_cache, "artclf.train", *ddp, *tiny)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "sync_dist=True" not in done.stderr  # every epoch-level log is synchronised

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["trainer.strategy"] == "ddp_spawn"
    history = client.get_metric_history(run.info.run_id, "val/acc")
    assert [m.step for m in history] == sorted({m.step for m in history})  # once per epoch
    reports = artifact_paths(store, run.info.run_id, "reports")
    assert {
        "reports/confusion_matrix.png",
        "reports/per_class_report.csv",
        "reports/gradcam_grid.png",
    } <= reports
    (ckpt,) = client.list_artifacts(run.info.run_id, "checkpoints")

    local = next((tmp_path / "outputs" / "runs").glob(f"*/checkpoints/{Path(ckpt.path).name}"))
    overrides = (f"ckpt_path={local}", f"paths.cache_dir={shared_cache}", "logger=none")
    cfg = compose_cfg("evaluate", tmp_path, *overrides)
    result = evaluate(cfg)
    assert result.metrics["test/n_images"] == 60
    assert run.data.metrics["test/acc"] == pytest.approx(result.metrics["test/acc"], abs=1e-6)
