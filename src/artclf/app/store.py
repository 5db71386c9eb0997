"""What the app reads from the MLflow store: the registered models to choose from, a model's
card, the runs of an experiment. The store is the one every command uses (``conf/logger``)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from omegaconf import DictConfig, OmegaConf

from artclf.reporting.leaderboard import headline, leaderboard
from artclf.reporting.tables import percent_metric
from artclf.runtime.config import CONFIG_DIR
from artclf.tracking import queries
from artclf.tracking.experiments import experiment_page, run_page
from artclf.tracking.queries import PARENT_TAG, Client, Run
from artclf.tracking.registry import is_model_uri, model_version, registered_versions
from artclf.tracking.selection import select_runs
from artclf.tracking.sources import checkpoint_file

#: Where `make ui` serves the MLflow UI; runs and models link into it.
MLFLOW_UI = os.environ.get("ARTCLF_MLFLOW_UI", "http://127.0.0.1:5000")
CHAMPION = "champion"
SYNTHETIC = "synthetic"  # data.source of the embedded dataset


def app_config() -> DictConfig:
    """``conf/paths`` and ``conf/logger/mlflow.yaml`` resolved as training resolves them: the
    store is MLFLOW_TRACKING_URI, else the SQLite file under ARTCLF_HOME or the working folder;
    and the app's own options, ``conf/app/default.yaml`` (environment variables override)."""
    paths = OmegaConf.load(CONFIG_DIR / "paths" / "default.yaml")
    del paths["run_dir"]  # Hydra's, set at run time
    logger = OmegaConf.load(CONFIG_DIR / "logger" / "mlflow.yaml")
    app = OmegaConf.load(CONFIG_DIR / "app" / "default.yaml")
    # task_name: the app's models and runs are training runs (experiment artclf-train)
    cfg = OmegaConf.create({"task_name": "train", "paths": paths, "logger": logger, "app": app})
    return OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))


def logger_config() -> DictConfig:
    return app_config().logger


def connect() -> Client:
    """Point this process's tracking calls at the project's store."""
    return queries.connect(str(logger_config().tracking_uri))


def model_choices(client: Client, task: str | None = None) -> list[str]:
    """One entry per registered version whose run trained ``task`` ("cyclegan"; None: the
    classifiers): ``models:/name@alias`` for a version with an alias (``champion`` rather
    than another of its aliases), ``models:/name/version`` for the others. Champions come
    first, the one promoted last first of all (what the page preselects)."""
    champions, aliased, numbered = [], [], []
    for name, aliases, runs in registered_versions(client):
        kept = {v for v, run_id in runs.items() if run_task(client, run_id) == task}
        alias_of: dict[str, str] = {}
        for alias, version in sorted(aliases.items(), key=lambda a: (a[0] != CHAMPION, a[0])):
            if version in kept:
                alias_of.setdefault(version, alias)
        for alias in alias_of.values():
            (champions if alias == CHAMPION else aliased).append(f"models:/{name}@{alias}")
        numbered += [(name, int(v)) for v in kept - alias_of.keys()]
    champions.sort(key=lambda uri: promoted_at(client, uri), reverse=True)
    numbered.sort(key=lambda item: (item[0], -item[1]))
    return champions + sorted(aliased) + [f"models:/{n}/{v}" for n, v in numbered]


def promoted_at(client: Client, uri: str) -> int:
    """When the alias of ``uri`` last moved, as far as the registry tells (it keeps no time
    per alias): the last change of the version it names, which registering it or
    ``registry promote`` (its description) makes."""
    return int(model_version(uri, client).last_updated_timestamp or 0)


def run_task(client: Client, run_id: str | None) -> str | None:
    """The ``task`` training ran ("cyclegan"), None for classifiers and unknown runs."""
    run = queries.find_run(client, run_id) if run_id else None
    return None if run is None else run.data.params.get("task")


#: Sessions are threads of one process: the first to need a version's checkpoint downloads it
#: while the others wait (a download is a plain copy: a file is there before it is whole).
DOWNLOAD_LOCK = threading.Lock()


def checkpoint_of(source: str) -> Path:
    """The local ``.ckpt`` of a registry URI or a checkpoint path."""
    with DOWNLOAD_LOCK:
        path = Path(checkpoint_file(source)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"checkpoint {source!r} does not exist; pass a .ckpt training wrote"
        )
    return path


def run_url(experiment_id: str, run_id: str) -> str:
    """The run's page in the MLflow UI, in its model-training view (not the GenAI one)."""
    return f"{MLFLOW_UI}/{run_page(experiment_id, run_id)}"


def experiment_url(client: Client, experiment: str) -> str | None:
    """The runs table of experiment ``experiment`` (a name) in the MLflow UI."""
    found = client.get_experiment_by_name(experiment)
    return None if found is None else f"{MLFLOW_UI}/{experiment_page(found.experiment_id)}"


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


def runs_tables(client: Client, experiment: str) -> dict[str, pd.DataFrame]:
    """The experiment's finished training runs as the leaderboard ranks them (the optimised
    metric at its best epoch, ``best/<metric>``, best first), one table per dataset: runs on
    the embedded synthetic set are no rivals of runs on real paintings. A sweep's (or a
    study's) parent is no row: it repeats its best job's numbers; its jobs name it in a
    ``sweep`` column (when some do). Accuracies and F1 are percentages; each run links into
    the MLflow UI. Empty when the experiment holds no finished training run."""
    try:
        runs = select_runs(client, experiment).runs
    except ValueError:
        return {}
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.data.params.get("data.source", "unknown"), []).append(run)
    real_first = sorted(groups, key=lambda source: (source == SYNTHETIC, source))
    return {data_title(source): ranked_runs(client, groups[source]) for source in real_first}


def data_title(source: str) -> str:
    """The heading of a dataset's table: the embedded set says it is not real paintings."""
    if source == SYNTHETIC:
        return "Embedded synthetic set (procedural images, not real paintings)"
    return f"Data: {source}"


def ranked_runs(client: Client, runs: list[Run]) -> pd.DataFrame:
    """``runs`` (of one dataset) as the leaderboard's key columns, plus sweep and link."""
    board = leaderboard(runs)
    by_id = {run.info.run_id: run for run in runs}
    sweeps = sweep_names(client, runs)
    table = headline(board)
    for column in percent_columns(table):
        table[column] = (100 * table[column]).round(1)
    if sweeps:  # no empty column when no run belongs to one
        table["sweep"] = [sweeps.get(run_id, "") for run_id in board["run_id"]]
    table["open in MLflow"] = [run_url(by_id[i].info.experiment_id, i) for i in board["run_id"]]
    return table.rename(columns={"run_name": "run", "duration_s": "seconds"})


def percent_columns(table: pd.DataFrame) -> list[str]:
    """The metric columns that are fractions (accuracies, F1), shown as percentages."""
    return [c for c in table if "/" in c and percent_metric(c)]


def sweep_names(client: Client, runs: list[Run]) -> dict[str, str]:
    """Run id → the name of the sweep (or study) run it is a job of, for the runs that are."""
    parents: dict[str, str] = {}
    names = {}
    for run in runs:
        parent = run.data.tags.get(PARENT_TAG)
        if parent and parent not in parents:
            found = queries.find_run(client, parent)
            parents[parent] = found.info.run_name if found else parent
        if parent:
            names[run.info.run_id] = parents[parent]
    return names
