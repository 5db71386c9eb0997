"""MLflow tracking through the real command line: a 2-job sweep, parent and child runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from artclf.runtime.config import flatten
from artclf.tracking import run_name
from artclf.training.tasks import task_of
from conftest import TINY_SYNTHETIC, run_artclf


@pytest.mark.slow  # subprocesses of whole commands: end to end
def test_multirun_creates_parent_and_child_runs(tmp_path: Path, shared_cache: Path) -> None:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    sweep = ("-m", "model=simple_cnn_32", "optim.lr=0.001,0.01", "trainer.max_epochs=1")
    options = ("trainer.accelerator=cpu", *TINY_SYNTHETIC)
    env = {"MLFLOW_TRACKING_URI": store}
    result = run_artclf(tmp_path, shared_cache, "artclf.train", *sweep, *options, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    for noise in ("💡 Tip", "LeafSpec", "TPU available"):  # filtered by artclf.runtime.quiet
        assert noise not in result.stdout + result.stderr, noise

    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("artclf-train")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("artclf.role") == "sweep"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    parent_id = parents[0].info.run_id
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent_id}
    assert sorted(c.data.tags["job_num"] for c in children) == ["0", "1"]
    assert sorted(c.data.params["optim.lr"] for c in children) == ["0.001", "0.01"]
    # children are named by the swept values; the parent holds the sweep, not job 0's values
    assert sorted(c.info.run_name for c in children) == ["lr=0.001", "lr=0.01"]
    parent = client.get_run(parent_id)
    assert "optim.lr=0.001,0.01" in parent.data.params["sweep.overrides"].split()
    # every run logs its best epoch's metric; the parent holds the best child and a leaderboard
    for child in children:
        assert {"best/val/acc", "best/epoch", "best/val/macro_f1"} <= set(child.data.metrics)
    winner = max(children, key=lambda c: c.data.metrics["best/val/acc"])
    assert parent.data.tags["best_child.run_id"] == winner.info.run_id
    assert parent.data.metrics["best/val/acc"] == winner.data.metrics["best/val/acc"]
    assert parent.data.metrics["test/acc"] == winner.data.metrics["test/acc"]
    parent_files = {f.path for f in client.list_artifacts(parent_id, "leaderboard")}
    assert parent_files == {"leaderboard/leaderboard.csv", "leaderboard/leaderboard.md"}
    assert not any(f.path.endswith(".csv") for f in client.list_artifacts(parent_id))  # one table
    board = client.download_artifacts(parent_id, "leaderboard/leaderboard.csv", str(tmp_path))
    assert pd.read_csv(board)["run_name"][0] == winner.info.run_name
    assert parent.info.status == "FINISHED"
    # output is a pipe, not a terminal: progress lines, not a bar
    assert "train epoch 1/1, step" in result.stdout and "ETA" in result.stdout
    assert "validation epoch 1: " in result.stdout
    child = children[0]
    names = {i.dataset.name for i in child.inputs.dataset_inputs}  # the data=... choice
    assert names == {f"synthetic/origin_style/{split}" for split in ("train", "val", "test")}
    for metric in (
        "train/loss",
        "val/acc",
        "val/macro_f1",
        "test/acc",
        "test/macro_f1",
        "test/top5_acc",
        "test/weighted_f1",
        "test/macro_precision",
    ):
        assert metric in child.data.metrics, metric
    assert "_target_" not in " ".join(child.data.params)
    assert child.data.tags["choice.model"] == "simple_cnn_32"
    artifacts = {
        f.path
        for folder in ("config", "reports", "checkpoints")
        for f in client.list_artifacts(child.info.run_id, folder)
    }
    assert {
        "config/config.yaml",
        "reports/confusion_matrix.png",
        "reports/per_class_report.csv",
    } <= artifacts
    assert any(a.startswith("checkpoints/") and a.endswith(".ckpt") for a in artifacts)
    # artifacts live beside the SQLite store, not in the working directory's ./mlruns
    assert (tmp_path / "mlartifacts").is_dir() and not (tmp_path / "mlruns").exists()


def test_run_name_comes_from_config_choices(make_cfg) -> None:
    cfg = make_cfg("model=resnet18_224", "aug=light", "seed=3")
    assert run_name(cfg) == "resnet18_224-light-s3"
    for preset in ("cyclegan_monet", "adain"):  # named after what they train, not model=
        style = make_cfg(f"experiment={preset}", "seed=3")
        assert "simple_cnn" not in run_name(style, task_of(style).naming_groups)


def test_params_are_flat_and_uncut() -> None:
    long_value = "x" * 600
    flat = flatten({"_target_": "a.B", "data": {"root": long_value, "_target_": "c"}, "seed": 1})
    assert flat == {"data.root": long_value, "seed": 1}


def test_bad_root_prints_one_line_and_exits_2(tmp_path: Path, shared_cache: Path) -> None:
    missing = f"data.root={tmp_path / 'missing'}"
    result = run_artclf(
        tmp_path, shared_cache, "artclf.train", "data=ai_artbench", missing, "logger=none"
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "missing" in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
