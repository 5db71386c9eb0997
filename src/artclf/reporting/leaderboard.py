"""Runs from the MLflow store as a leaderboard: one row per run with its config choices, the
params that differ between the runs (the swept ones), every ``val/*`` and ``test/*`` metric
and the duration, sorted by the metric the runs optimised (read back from their own params), at
its best epoch (``best/<metric>``, what the checkpoint holds) where the runs log that.

The key columns come first (``key_columns``): the run, what set the runs apart (the choices
that differ and the params that differ without following from a choice), the ranking metric,
the test metrics and the wall time; the rest are details a reader looks up.

The runs come from ``artclf.tracking.selection``; a sweep's end logs the table to its parent
run (``artclf.reporting.sweep_summary``).
"""

from __future__ import annotations

import math

import pandas as pd

from artclf.tracking.queries import Run

#: Params that differ between runs without being a choice a person made.
NOISE_PARAMS = ("paths.", "hydra.", "logger.", "data.root", "data.cache_dir")
METRIC_PREFIXES = ("val/", "test/", "best/", "final/")
#: Config groups whose chosen option is a column (when any run chose one).
CHOICE_GROUPS = ("experiment", "data", "model", "backbone", "aug", "optim", "scheduler")
#: Test metrics shown beside the ranking metric, where the runs log them.
HEADLINE = ("test/acc", "test/macro_f1")
#: Columns of every leaderboard that are neither a choice, a param nor a metric.
RUN_COLUMNS = ("run_name", "run_id", "duration_s")


def wall_seconds(run: Run) -> float:
    """Seconds from the run's start to its end (0 while it runs)."""
    return ((run.info.end_time or run.info.start_time) - run.info.start_time) / 1000


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


def swept_params(runs: list[Run]) -> list[str]:
    """Params whose value differs between the runs (what the sweep varied)."""
    keys = sorted({k for r in runs for k in r.data.params})
    varied = [k for k in keys if len({r.data.params.get(k) for r in runs}) > 1]
    return [k for k in varied if not k.startswith(NOISE_PARAMS)]


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
        row["duration_s"] = round(wall_seconds(run), 1)
        rows.append(row)
    table = pd.DataFrame(rows).sort_values("run_name", kind="stable")
    unset = [c for c in table if c.startswith("choice.") and table[c].isin([None, "None"]).all()]
    table = table.drop(columns=unset)
    key, mode = ranking(runs)
    if key in table:
        table = table.sort_values(key, ascending=mode == "min", na_position="last", kind="stable")
    table = table.reset_index(drop=True)
    table.attrs["ranked_by"] = key
    return table[key_columns(table) + details_columns(table)]


def follows_from_choice(table: pd.DataFrame, param: str) -> bool:
    """Whether ``param`` (``model.arch``) takes one value per option of its group's choice
    (``choice.model``): its column would only repeat the choice's."""
    choice = f"choice.{param.split('.', 1)[0]}"
    if choice not in table:
        return False
    per_option = table.groupby(choice, dropna=False)[param].nunique(dropna=False)
    return bool((per_option <= 1).all())


def varied_columns(table: pd.DataFrame) -> list[str]:
    """What set the runs apart: the choices that differ between them, then the swept params
    that do not follow from one of them."""
    choices = [c for c in table if c.startswith("choice.")]
    varied = [c for c in choices if table[c].nunique(dropna=False) > 1]
    params = [c for c in table if "/" not in c and c not in (*RUN_COLUMNS, *choices)]
    return varied + [p for p in params if not follows_from_choice(table, p)]


def key_columns(table: pd.DataFrame) -> list[str]:
    """The columns a reader compares runs by: run name, what varied, the ranking metric
    (``best/<metric>``), the test metrics, the wall time."""
    ranked = table.attrs.get("ranked_by", "")
    columns = ["run_name", *varied_columns(table), ranked, *HEADLINE, "duration_s"]
    return [c for c in dict.fromkeys(columns) if c in table]


def shown_name(column: str) -> str:
    """A column's name for people: a choice as the command line sets it (``model``, not
    ``choice.model``)."""
    return column.removeprefix("choice.")


def headline(table: pd.DataFrame) -> pd.DataFrame:
    """The key columns under their ``shown_name``: the table a person reads first."""
    return table[key_columns(table)].rename(columns=shown_name)


def details_columns(table: pd.DataFrame) -> list[str]:
    """Every column that is not a key one, in the table's order."""
    key = key_columns(table)
    return [c for c in table if c not in key]


def numeric_columns(table: pd.DataFrame) -> set[str]:
    """The columns of numbers, which a table sets right-aligned so their digits line up."""
    return {c for c in table if pd.api.types.is_numeric_dtype(table[c])}


def cell(value: object) -> str:
    """A table cell as text: numbers to 4 significant digits, nothing for a missing value."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None else str(value)


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub markdown table (numbers to 4 significant digits)."""
    shown = table.drop(columns=["run_id"], errors="ignore")
    cells = shown.map(cell)
    lines = [
        "| " + " | ".join(shown.columns) + " |",
        "|" + "---|" * len(shown.columns),
        *("| " + " | ".join(str(c) for c in row) + " |" for row in cells.itertuples(index=False)),
    ]
    return "\n".join(lines) + "\n"
