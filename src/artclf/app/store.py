"""What the app reads from the MLflow store: the registered models to choose from, a model's
card, the runs of an experiment. The store is the one every command uses (``conf/logger``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from artclf.runtime.config import CONFIG_DIR
from artclf.tracking import queries
from artclf.tracking.queries import Client
from artclf.tracking.registry import is_model_uri, model_version, registered_versions
from artclf.tracking.sources import checkpoint_file

#: Where `make ui` serves the MLflow UI; runs and models link into it.
MLFLOW_UI = os.environ.get("ARTCLF_MLFLOW_UI", "http://127.0.0.1:5000")
CHAMPION = "champion"


def app_config() -> DictConfig:
    """``conf/paths`` and ``conf/logger/mlflow.yaml`` resolved as training resolves them: the
    store is MLFLOW_TRACKING_URI, else the SQLite file under ARTCLF_HOME or the working folder."""
    paths = OmegaConf.load(CONFIG_DIR / "paths" / "default.yaml")
    del paths["run_dir"]  # Hydra's, set at run time
    logger = OmegaConf.load(CONFIG_DIR / "logger" / "mlflow.yaml")
    # task_name: the app's models and runs are training runs (experiment artclf-train)
    cfg = OmegaConf.create({"task_name": "train", "paths": paths, "logger": logger})
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def logger_config() -> DictConfig:
    return app_config().logger


def connect() -> Client:
    """Point this process's tracking calls at the project's store."""
    return queries.connect(str(logger_config().tracking_uri))


def model_choices(client: Client, task: str | None = None) -> list[str]:
    """``models:/name@alias`` and ``models:/name/version`` for every registered model, the
    champions first; ``task`` keeps the versions whose run trained that task ("cyclegan"),
    None keeps the classifiers."""
    aliases, versions = [], []
    for name, model_aliases, runs in registered_versions(client):
        kept = {v for v, run_id in runs.items() if run_task(client, run_id) == task}
        aliases += [f"models:/{name}@{a}" for a, v in model_aliases.items() if v in kept]
        versions += [f"models:/{name}/{v}" for v in kept]
    aliases.sort(key=lambda uri: (not uri.endswith(f"@{CHAMPION}"), uri))
    versions.sort(key=lambda uri: (uri.rsplit("/", 1)[0], -int(uri.rsplit("/", 1)[1])))
    return aliases + versions


def run_task(client: Client, run_id: str | None) -> str | None:
    """The ``task`` training ran ("cyclegan"), None for classifiers and unknown runs."""
    run = queries.find_run(client, run_id) if run_id else None
    return None if run is None else run.data.params.get("task")


def checkpoint_of(source: str) -> Path:
    """The local ``.ckpt`` of a registry URI or a checkpoint path."""
    path = Path(checkpoint_file(source)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {source!r} does not exist; pass a .ckpt training wrote"
        )
    return path


def run_url(experiment_id: str, run_id: str) -> str:
    return f"{MLFLOW_UI}/#/experiments/{experiment_id}/runs/{run_id}"


@dataclass(frozen=True)
class ModelCard:
    """What a person needs to trust a model: its data, its test score, where it came from."""

    source: str
    dataset: str
    test_accuracy: float | None
    run_name: str | None
    run_link: str | None


def model_card(client: Client, source: str, run_id: str | None, data: dict) -> ModelCard:
    """The card of a model: ``run_id`` is the training run (from the registry or the
    checkpoint), ``data`` the data config the checkpoint stores."""
    if is_model_uri(source):
        run_id = model_version(source, client).run_id or run_id
    dataset = f"{data.get('source', '?')} ({data.get('root', '?')})" if data else "unknown"
    if not run_id:
        return ModelCard(source, dataset, None, None, None)
    run = queries.find_run(client, run_id)
    if run is None:
        return ModelCard(source, dataset, None, None, None)
    accuracy = run.data.metrics.get("test/acc")
    link = run_url(run.info.experiment_id, run_id)
    return ModelCard(source, dataset, accuracy, run.info.run_name, link)


def experiments(client: Client) -> list[str]:
    return queries.experiment_names(client)


def runs_table(client: Client, experiment: str, metric: str = "test/acc") -> pd.DataFrame:
    """The experiment's runs, best ``metric`` first, with the columns a leaderboard needs and
    a link into the MLflow UI per run."""
    found = queries.experiment_runs(client, experiment)
    if found is None:
        return pd.DataFrame()
    experiment_id, runs = found
    if runs.empty:
        return runs
    metrics = [c for c in runs.columns if c.startswith("metrics.") and "/" in c]
    wanted = [f"metrics.{metric}", "metrics.val/acc", "metrics.test/macro_f1"]
    shown = [c for c in wanted if c in metrics]
    table = pd.DataFrame(
        {
            "run": runs["tags.mlflow.runName"],
            "status": runs["status"],
            "started": runs["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
            **{c.removeprefix("metrics."): runs[c] for c in shown},
            "open in MLflow": [run_url(experiment_id, r) for r in runs["run_id"]],
        }
    )
    if f"metrics.{metric}" in shown:
        table = table.sort_values(metric, ascending=False, na_position="last")
    return table.reset_index(drop=True)
