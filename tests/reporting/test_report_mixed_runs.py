"""``python -m artclf.report`` over runs of different configs, as a new user's store holds them
after a few commands (real MLflow runs logged here, one with a param the others lack): no
traceback, the key columns first and the rest in a details table, no figure of a param that a
choice sets, and plain text, not a wrapped rich table, in a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from artclf.report import report
from artclf.reporting.leaderboard import varied_columns

T0 = 1_700_000_000_000  # ms
CNN = {"model.arch": "simple_cnn", "model.name": "simple_cnn_32"}
RESNET = {"model.arch": "resnet18", "model.name": "resnet18_32"}
#: name: (config choices, params, best/val/acc); only SGD has a momentum
RUNS = {
    "cnn-adam": ({"model": "simple_cnn_32", "optim": "adam"}, {**CNN, "model.dropout": "0.0"}, 0.5),
    "resnet-sgd": (
        {"model": "resnet18_32", "optim": "sgd"},
        {**RESNET, "model.dropout": "0.0", "optim.momentum": "0.9"},
        0.7,
    ),
    "resnet-sgd-drop": (
        {"model": "resnet18_32", "optim": "sgd"},
        {**RESNET, "model.dropout": "0.5", "optim.momentum": "0.9"},
        0.6,
    ),
}
KEY_COLUMNS = ["run_name", "model", "optim", "model.dropout", "best/val/acc", "test/acc"]
KEY_COLUMNS += ["test/macro_f1", "duration_s"]


def log_run(client: MlflowClient, experiment_id: str, name: str, start_s: int) -> str:
    """A finished training run with the tags, params and metrics ``artclf.train`` logs."""
    choices, params, best = RUNS[name]
    tags = {"artclf.task": "train", "choice.data": "synthetic"}
    tags.update({f"choice.{group}": option for group, option in choices.items()})
    run_id = client.create_run(
        experiment_id, start_time=T0 + start_s * 1000, run_name=name, tags=tags
    ).info.run_id
    params = {
        "task_name": "train",
        "optimized.metric": "val/acc",
        "optimized.mode": "max",
        **params,
    }
    for key, value in {**params, "optim.lr": "0.001", "paths.run_dir": f"/runs/{name}"}.items():
        client.log_param(run_id, key, value)
    for epoch, value in enumerate((best - 0.1, best)):
        client.log_metric(run_id, "val/acc", value, step=epoch)
        client.log_metric(run_id, "train/loss", 2 - value, step=epoch)
    for key, value in {"best/val/acc": best, "test/acc": best - 0.05, "test/macro_f1": 0.4}.items():
        client.log_metric(run_id, key, value)
    client.set_terminated(run_id, "FINISHED", end_time=T0 + (start_s + 30) * 1000)
    return run_id


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, dict[str, str]]:
    """A store whose latest experiment holds the three runs: its URI and their ids by name."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    experiment_id = client.create_experiment("artclf-train")
    ids = {name: log_run(client, experiment_id, name, 100 * i) for i, name in enumerate(RUNS)}
    return uri, ids


def test_the_default_report_of_mixed_runs_prints_its_key_columns(
    store: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    """The README's command, no arguments, in a pipe: one plain line per run."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": store[0]}
    done = subprocess.run(
        [sys.executable, "-m", "artclf.report"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == "experiment artclf-train: best first by best/val/acc"
    assert lines[1].split() == KEY_COLUMNS
    assert [line.split()[0] for line in lines[2:5]] == ["resnet-sgd", "resnet-sgd-drop", "cnn-adam"]
    assert lines[2].split()[1:5] == ["resnet18_32", "sgd", "0.0", "0.7"]
    assert not set("┃│━") & set(done.stdout)  # no box drawing: a pipe gets plain text
    assert Path(lines[5].removeprefix("report: ")).is_file()


def test_a_report_of_chosen_runs_of_different_configs(
    store: tuple[str, dict[str, str]], make_cfg, tmp_path: Path
) -> None:
    """Key columns first and the rest in the details table; the figure plots the choices, not
    the params they set (``model.arch``) nor the param only one choice has (``optim.momentum``)."""
    uri, ids = store
    cfg = make_cfg(
        f"runs=[{ids['cnn-adam']},{ids['resnet-sgd']}]",
        f"logger.tracking_uri={uri}",
        f"output_dir={tmp_path / 'report'}",
        config_name="report",
    )
    result = report(cfg)
    assert result.title == "2 runs"
    assert varied_columns(result.table) == ["choice.model", "choice.optim"]
    assert set(result.figures) == {"params", "curves"}
    table = pd.read_csv(result.csv)
    assert table["run_name"].tolist() == ["resnet-sgd", "cnn-adam"]
    assert table["optim.momentum"].isna().tolist() == [False, True]
    page = result.html.read_text()
    key, details = re.findall(r"<thead><tr>(.*?)</tr></thead>", page)
    assert re.findall(r"<th>(.*?)</th>", key) == [c for c in KEY_COLUMNS if c != "model.dropout"]
    assert {"run_id", "choice.data", "model.arch", "optim.momentum", "val/acc"} <= set(
        re.findall(r"<th>(.*?)</th>", details)
    )
