"""A 4-job sweep through the real command line, then its report: leaderboard, figures, one
self-contained HTML, logged to the sweep's parent; only the best job is registered."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.report import report
from artclf.runtime.config import CONFIG_DIR
from conftest import TINY_SYNTHETIC, run_artclf


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    home = tmp_path_factory.mktemp("sweep")
    store = f"sqlite:///{home / 'store.db'}"
    sweep = ("-m", "optim.lr=0.0003,0.001,0.003,0.01", "trainer.max_epochs=2")
    options = ("trainer.accelerator=cpu", "logger.register=true", *TINY_SYNTHETIC)
    env = {"MLFLOW_TRACKING_URI": store}
    result = run_artclf(home, shared_cache, "artclf.train", *sweep, *options, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("artclf-train")
    (parent,) = client.search_runs([experiment.experiment_id], "tags.`artclf.role` = 'sweep'")
    return {"home": home, "store": store, "client": client, "parent": parent.info.run_id}


def test_only_the_best_job_is_registered(sweep: dict) -> None:
    client = sweep["client"]
    (version,) = client.search_model_versions("name = 'synthetic-origin_style'")
    children = client.search_runs(
        [client.get_run(sweep["parent"]).info.experiment_id],
        f"tags.mlflow.parentRunId = '{sweep['parent']}'",
    )
    best = max(children, key=lambda r: (r.data.metrics["best/val/acc"], -r.info.start_time))
    assert version.run_id == best.info.run_id
    parent_files = {f.path for f in client.list_artifacts(sweep["parent"], "leaderboard")}
    assert "leaderboard/leaderboard.csv" in parent_files


def test_report_of_the_sweep(sweep: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sweep["store"])
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="report",
            overrides=[
                f"sweep={sweep['parent']}",
                f"output_dir={tmp_path / 'report'}",
                f"paths.root_dir={sweep['home']}",
            ],
        )
    result = report(cfg)
    table = pd.read_csv(result.csv)
    assert len(table) == 4
    assert table["best/val/acc"].is_monotonic_decreasing  # ranked by the best epoch's value
    assert {"optim.lr", "test/acc", "duration_s", "run_name"} <= set(table.columns)
    assert set(result.figures) == {"params", "curves", "confusion"}
    for png in result.figures.values():
        with Image.open(png) as image:
            image.verify()
            assert image.format == "PNG" and min(image.size) > 100
    page = result.html.read_text()
    assert "<h1>sweep-" in page  # the parent's name, not "sweep sweep-..."
    assert page.count("data:image/png;base64,") == 3
    assert "http://" not in page and "https://" not in page  # nothing fetched from outside
    logged = {f.path for f in sweep["client"].list_artifacts(sweep["parent"], "report")}
    assert {"report/report.html", "report/leaderboard.csv"} <= logged


def test_unknown_run_is_one_clear_error(sweep: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sweep["store"])
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(
            config_name="report",
            overrides=["sweep=0123456789abcdef", f"output_dir={tmp_path}"],
        )
    with pytest.raises(ValueError, match="not found"):
        report(cfg)


def test_each_job_records_the_command_that_reruns_it(sweep: dict) -> None:
    """``artclf.command``: the job's own overrides (its lr, not the sweep's list), so a table
    row names the command that makes it."""
    import shlex

    client = sweep["client"]
    children = client.search_runs(
        [client.get_run(sweep["parent"]).info.experiment_id],
        f"tags.mlflow.parentRunId = '{sweep['parent']}'",
    )
    fixed = {"trainer.max_epochs=2", "trainer.accelerator=cpu", "logger.register=true"}
    for child in children:
        words = shlex.split(child.data.tags["artclf.command"])
        assert words[:3] == ["python", "-m", "artclf.train"]
        lr = f"optim.lr={child.data.params['optim.lr']}"
        # a sweep's jobs get values as Hydra parsed them (True), which Hydra reads back
        assert {w.lower() for w in words[3:]} == {lr, *fixed, *TINY_SYNTHETIC}
