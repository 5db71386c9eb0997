"""``make server``: MLflow on a throwaway PostgreSQL cluster, written by 4 parallel jobs."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from artclf.tracking.server import ServerError, postgres_bin, tracking_server
from conftest import TINY_SYNTHETIC

EPOCH_METRICS = ("train/loss", "val/loss", "val/acc", "val/macro_f1")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server_folder():
    try:
        postgres_bin()
    except ServerError:
        pytest.skip("PostgreSQL is not installed here (apt-get install -y postgresql)")
    # Not under pytest's tmp_path: as root the cluster runs as `postgres`, who must reach it.
    folder = Path(tempfile.mkdtemp(prefix="artclf-server-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow  # PostgreSQL + mlflow server start, then 4 parallel trainings: a few minutes
def test_four_parallel_jobs_on_the_team_server(
    server_folder: Path, tmp_path: Path, shared_cache: Path
) -> None:
    pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'artclf[scale]'")
    epochs = 2
    with tracking_server(server_folder, port=free_port(), db_port=free_port()) as url:
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": url,
            "ARTCLF_HOME": str(tmp_path),
            "ARTCLF_CACHE": str(shared_cache),
        }
        jobs = ("hydra/launcher=parallel", "hydra.launcher.n_jobs=4", "seed=1,2,3,4")
        tiny = (*TINY_SYNTHETIC, f"trainer.max_epochs={epochs}", "trainer.accelerator=cpu")
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "artclf.train",
                "-m",
                *jobs,
                *tiny,
                "callbacks.early_stopping.enabled=false",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        client = MlflowClient(url)
        runs = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
        parents = [r for r in runs if r.data.tags.get("artclf.role") == "sweep"]
        children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
        assert len(runs) == 5 and len(parents) == 1 and len(children) == 4
        assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
        for child in children:
            assert child.info.status == "FINISHED"
            for key in EPOCH_METRICS:
                points = client.get_metric_history(child.info.run_id, key)
                assert len({p.step for p in points}) == len(points) == epochs, (key, points)
            assert len(client.get_metric_history(child.info.run_id, "test/acc")) == 1
            assert child.info.artifact_uri.startswith("mlflow-artifacts:")  # proxied
            files = {
                f.path: f.file_size
                for folder in ("config", "reports", "checkpoints")
                for f in client.list_artifacts(child.info.run_id, folder)
            }
            for name in ("config/config.yaml", "reports/confusion_matrix.png"):
                assert files.get(name, 0) > 0, files
            assert any(k.endswith(".ckpt") and v > 0 for k, v in files.items()), files
        # the server wrote them into its folder: each job's checkpoint, and its logged model's
        stored = list((server_folder / "artifacts").rglob("checkpoints/*.ckpt"))
        models = list((server_folder / "artifacts").rglob("models/*/artifacts/**/*.ckpt"))
        assert len(stored) == len(models) == 4
    assert not (server_folder / "data" / "postmaster.pid").exists()  # PostgreSQL stopped
