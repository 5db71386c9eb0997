"""Hydra launchers (the `scale` extra): every job of a parallel or submitit sweep is a child
run of one parent, and a fresh SQLite store survives its first use by all jobs at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from conftest import TINY_SYNTHETIC, run_artclf

pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'artclf[scale]'")
pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'artclf[scale]'")

TINY = (*TINY_SYNTHETIC, "trainer.max_epochs=1", "trainer.accelerator=cpu")
METRICS = ("train/loss", "val/acc", "val/macro_f1", "test/acc", "test/macro_f1")


def sweep(tmp_path: Path, shared_cache: Path, *overrides: str) -> tuple[MlflowClient, list]:
    """``train -m`` with ``overrides`` (launcher, swept seeds) into a fresh store; its runs."""
    store = tmp_path / "mlflow.db"
    assert not store.exists()
    done = run_artclf(tmp_path, shared_cache, "artclf.train", "-m", *overrides, *TINY)
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{store}")
    return client, client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])


def check_family(client: MlflowClient, runs: list, jobs: int) -> None:
    parents = [r for r in runs if r.data.tags.get("artclf.role") == "sweep"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == jobs and len(runs) == jobs + 1
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert sorted(c.data.tags["job_num"] for c in children) == [str(i) for i in range(jobs)]
    for child in children:
        assert child.info.status == "FINISHED"
        assert set(METRICS) <= set(child.data.metrics), child.data.metrics
        reports = {f.path for f in client.list_artifacts(child.info.run_id, "reports")}
        assert "reports/confusion_matrix.png" in reports


@pytest.mark.slow  # 4 parallel tiny trainings, 3 times: several minutes on a busy 2-core CPU
@pytest.mark.parametrize("attempt", range(3))
def test_parallel_jobs_on_a_fresh_store(tmp_path: Path, shared_cache: Path, attempt: int) -> None:
    overrides = ("hydra/launcher=parallel", "hydra.launcher.n_jobs=4", "seed=1,2,3,4")
    client, runs = sweep(tmp_path, shared_cache, *overrides)
    check_family(client, runs, jobs=4)


@pytest.mark.slow
def test_submitit_local_jobs_are_children(tmp_path: Path, shared_cache: Path) -> None:
    client, runs = sweep(tmp_path, shared_cache, "hydra/launcher=slurm_local", "seed=1,2")
    check_family(client, runs, jobs=2)
