"""Runs from the MLflow store as a leaderboard: one row per run with its config choices, the
params that differ between the runs (the swept ones), every ``val/*`` and ``test/*`` metric
and the duration, sorted by the metric the runs optimised (read back from their own params), at
its best epoch (``best/<metric>``, what the checkpoint holds) where the runs log that.

``write_leaderboard(parent_run_id)`` logs it to a sweep's parent run as CSV and markdown.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

#: Params that differ between runs without being a choice a person made.
NOISE_PARAMS = ("paths.", "hydra.", "logger.", "data.root", "data.cache_dir")
METRIC_PREFIXES = ("val/", "test/", "best/", "final/")
#: Config groups whose chosen option is a column (when any run chose one).
CHOICE_GROUPS = ("experiment", "data", "model", "backbone", "aug", "optim", "scheduler")


@dataclass
class Selection:
    """The runs to report on, and the sweep parent they share (None for other selections)."""

    runs: list[Run]
    parent_id: str | None
    title: str


def objective(runs: list[Run]) -> tuple[str, str]:
    """(metric, "max" | "min") the runs optimised, as their config declared it (``optimized``)."""
    params = runs[0].data.params
    metric = params.get("optimized.metric", params.get("optimized_metric", "val/acc"))
    return metric, params.get("optimized.mode", "min" if "loss" in metric else "max")


def ranking(runs: list[Run]) -> tuple[str, str]:
    """(column, mode) the runs are ranked by: the optimised metric at its best epoch where the
    runs log ``best/<metric>``, else its last value."""
    metric, mode = objective(runs)
    best = f"best/{metric}"
    return (best if any(best in r.data.metrics for r in runs) else metric), mode


def _training(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.data.tags.get("artclf.role") != "sweep"]


def select_runs(
    client: MlflowClient,
    experiment: str | None = None,
    parent: str | None = None,
    run_ids: list[str] | None = None,
) -> Selection:
    """Runs of a sweep parent, of a list of ids, or of an experiment (by default the one with
    the latest run): training runs only (sweep parents and evaluations are left out)."""
    if parent:
        parent_run = client.get_run(parent)
        runs = client.search_runs(
            [parent_run.info.experiment_id], f"tags.mlflow.parentRunId = '{parent}'"
        )
        title = f"sweep {parent_run.info.run_name}"
    elif run_ids:
        runs = [client.get_run(r) for r in run_ids]
        title = f"{len(runs)} runs"
    else:
        experiments = client.search_experiments()
        if experiment:
            found = client.get_experiment_by_name(experiment)
            if found is None:
                names = ", ".join(sorted(e.name for e in experiments))
                raise ValueError(f"no experiment {experiment!r} in the store (there: {names})")
            experiments = [found]
        ids = [e.experiment_id for e in experiments]
        latest = client.search_runs(ids, max_results=1, order_by=["attributes.start_time DESC"])
        if not latest:
            raise ValueError("the store has no runs yet; train one: python -m artclf.train")
        experiment_id = latest[0].info.experiment_id
        runs = client.search_runs([experiment_id], "tags.`artclf.task` = 'train'")
        title = f"experiment {client.get_experiment(experiment_id).name}"
    runs = _training(runs)
    if not parent:  # a sweep's children are one kind of run (stylize sweeps too)
        runs = [r for r in runs if r.data.params.get("task_name", "train") == "train"]
    unfinished = sum(r.info.status != "FINISHED" for r in runs)
    runs = [r for r in runs if r.info.status == "FINISHED"]
    if not runs:
        raise ValueError(f"{title}: no finished training runs to report on")
    if unfinished:
        title += f" ({unfinished} unfinished or failed runs left out)"
    parent_ids = {r.data.tags.get("mlflow.parentRunId") for r in runs}
    return Selection(runs, parent or (parent_ids.pop() if len(parent_ids) == 1 else None), title)


def swept_params(runs: list[Run]) -> list[str]:
    """Params whose value differs between the runs (what the sweep varied)."""
    keys = sorted({k for r in runs for k in r.data.params})
    varied = [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]
    return [k for k in varied if not k.startswith(NOISE_PARAMS) and k not in NOISE_PARAMS]


def leaderboard(runs: list[Run]) -> pd.DataFrame:
    """One row per run, best first by the optimised metric."""
    swept = swept_params(runs)
    rows = []
    for run in runs:
        row = {"run_name": run.info.run_name, "run_id": run.info.run_id}
        row.update({f"choice.{g}": run.data.tags.get(f"choice.{g}") for g in CHOICE_GROUPS})
        row.update({k: run.data.params.get(k) for k in swept})
        row.update(
            {k: v for k, v in sorted(run.data.metrics.items()) if k.startswith(METRIC_PREFIXES)}
        )
        end = run.info.end_time or run.info.start_time
        row["duration_s"] = round((end - run.info.start_time) / 1000, 1)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("run_name", kind="stable")
    unset = [c for c in table if c.startswith("choice.") and table[c].isin([None, "None"]).all()]
    table = table.drop(columns=unset)
    key, mode = ranking(runs)
    first = list(dict.fromkeys(["run_name", *swept, key, objective(runs)[0]]))
    table = table[[c for c in first if c in table] + [c for c in table if c not in first]]
    if key in table:
        table = table.sort_values(key, ascending=mode == "min", na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["ranked_by"] = key
    return table


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (numbers to 4 significant digits)."""
    shown = table.drop(columns=["run_id"], errors="ignore")
    cells = shown.map(lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else v))
    lines = [
        "| " + " | ".join(shown.columns) + " |",
        "|" + "---|" * len(shown.columns),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in cells.itertuples(index=False)),
    ]
    return "\n".join(lines) + "\n"


def write_leaderboard(parent_run_id: str, client: MlflowClient | None = None) -> pd.DataFrame:
    """The leaderboard of a sweep's children, logged to the parent run as
    ``leaderboard/leaderboard.csv`` and ``.md``; returned as a table."""
    client = client or MlflowClient()
    table = leaderboard(select_runs(client, parent=parent_run_id).runs)
    with tempfile.TemporaryDirectory() as tmp:
        table.to_csv(Path(tmp) / "leaderboard.csv", index=False)
        (Path(tmp) / "leaderboard.md").write_text(to_markdown(table))
        client.log_artifacts(parent_run_id, tmp, artifact_path="leaderboard")
    return table
