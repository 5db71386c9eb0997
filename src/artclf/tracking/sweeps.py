"""What a multirun's parent run holds: the sweep's specification, its best child and a
leaderboard, and for a stylize sweep one labelled grid of every setting's results.

``SweepSummary`` is a Hydra callback (``hydra.callbacks`` in ``train.yaml``/``stylize.yaml``):
it runs in the process that launches the jobs, so it sees the command line's sweep
(``optim.lr=1e-3,1e-2``, the Optuna search space) where each job sees only its own values.
At the start it writes the specification beside the jobs (``sweep_spec.yaml``), which names
the children (``lr=0.001,model=resnet18_32``) and the parent's ``sweep.overrides``; at the
end, once every job has finished (whichever launcher ran them, in parallel or not), it reads
the children back from MLflow and writes the summary on the parent.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)

SPEC_FILE = "sweep_spec.yaml"
PARENT_ID_FILE = ".mlflow_parent_run_id"
GRID_FILE = "sweep_grid.png"


# ---------------------------------------------------------------- specification and names


def sweep_spec(config: DictConfig) -> list[str]:
    """The sweep as typed: the command line's overrides plus the sweeper's search space."""
    spec = [str(o) for o in config.hydra.overrides.task]
    params = config.hydra.sweeper.get("params") or {}
    return spec + [f"{key}={value}" for key, value in params.items()]


def read_spec(sweep_dir: Path) -> list[str]:
    """The specification a ``SweepSummary`` wrote for this sweep ([] when none did)."""
    file = Path(sweep_dir) / SPEC_FILE
    return list(yaml.safe_load(file.read_text()) or []) if file.is_file() else []


def swept_keys(spec: list[str]) -> list[str]:
    """Keys (``optim.lr``) and groups (``model``) whose value varies across the sweep."""
    parsed = OverridesParser.create().parse_overrides(spec)
    return [o.key_or_group for o in parsed if o.is_sweep_override()]


def _short_value(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() and "." not in value else f"{number:.3g}"


def child_name(job_overrides: list[str], swept: list[str]) -> str:
    """``lr=0.001,model=resnet18_32``: this job's value of every swept key, by its last part."""
    values = dict(o.lstrip("+~").split("=", 1) for o in job_overrides if "=" in o)
    parts = [f"{key.split('.')[-1]}={_short_value(values[key])}" for key in swept if key in values]
    return ",".join(parts)


def sweep_child_name(hydra: HydraConfig) -> str:
    """This multirun job's name from the swept values ("" when the spec is unknown)."""
    spec = read_spec(Path(hydra.sweep.dir))
    return child_name(list(hydra.overrides.task), swept_keys(spec)) if spec else ""


# ---------------------------------------------------------------- leaderboard


def leaderboard(children: list[Any], metric: str, mode: str) -> pd.DataFrame:
    """One row per child run, best first by ``best/<metric>`` (``<metric>`` where a run has no
    best, as stylize runs): name, the ranking value, the run's other final metrics, status and
    run id."""
    key = f"best/{metric}"
    rows = []
    for run in children:
        metrics = dict(run.data.metrics)
        value = metrics.get(key, metrics.get(metric, math.nan))
        row = {"rank": 0, "name": run.info.run_name, key: value}
        row |= {k: v for k, v in sorted(metrics.items()) if k not in (metric, key)}
        rows.append(row | {"status": run.info.status, "run_id": run.info.run_id})
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(key, ascending=mode == "min", na_position="last")
    table["rank"] = range(1, len(table) + 1)
    return table.reset_index(drop=True)


def to_markdown(table: pd.DataFrame, columns: list[str]) -> str:
    """A small Markdown table of ``columns`` (numbers to 4 significant digits)."""
    cells = [
        [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        for row in table[columns].itertuples(index=False)
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells]) + "\n"


def summarise(client: Any, parent_id: str, metric: str, mode: str) -> pd.DataFrame:
    """Write the leaderboard (CSV and Markdown), the best child's id, name and metrics onto
    the parent run; return the leaderboard."""
    from artclf.tracking.retry import retry_locked
    from artclf.tracking.runs import log_metrics

    parent = client.get_run(parent_id)
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    table = leaderboard(children, metric, mode)
    if table.empty:
        return table
    key = f"best/{metric}"
    shown = ["rank", "name", key, *[c for c in ("best/epoch", "test/acc") if c in table]]
    client.log_text(parent_id, table.to_csv(index=False), "leaderboard.csv")
    client.log_text(parent_id, to_markdown(table, [*shown, "status"]), "leaderboard.md")
    best = table.iloc[0]
    if not math.isnan(best[key]):
        winner = next(r for r in children if r.info.run_id == best["run_id"])
        retry_locked(client.set_tag, parent_id, "best_child.run_id", best["run_id"])
        retry_locked(client.set_tag, parent_id, "best_child.name", str(best["name"]))
        log_metrics(parent_id, {**winner.data.metrics, "sweep/children": len(table)})
    return table


# ---------------------------------------------------------------- stylize grid


def stylize_grid(sweep_dir: Path, swept: list[str]) -> Path | None:
    """One figure: a row per job (labelled with its swept values), a column per
    content/style pair (the job folders' result images), saved as ``sweep_grid.png``."""
    import matplotlib.pyplot as plt
    from PIL import Image

    jobs = sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    results = {
        job: {p.stem: p for p in job.glob("*.png") if not p.stem.endswith("_grid")} for job in jobs
    }
    pairs = sorted({name for files in results.values() for name in files})
    jobs = [job for job in jobs if results[job]]
    if not pairs or not jobs:
        return None
    figure, axes = plt.subplots(
        len(jobs), len(pairs), figsize=(2.6 * len(pairs) + 1, 2.6 * len(jobs)), squeeze=False
    )
    for r, job in enumerate(jobs):
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
        label = child_name(overrides or [], swept) or f"job {job.name}"
        for c, pair in enumerate(pairs):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            if pair in results[job]:
                axis.imshow(Image.open(results[job][pair]).convert("RGB"))
            if r == 0:
                axis.set_title(pair.replace("__", "\n× "), fontsize=8)
            if c == 0:
                axis.set_ylabel(label.replace(",", "\n"), fontsize=8)
    figure.tight_layout()
    path = sweep_dir / GRID_FILE
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# ---------------------------------------------------------------- the Hydra callback


class SweepSummary(Callback):
    """Hydra callback: the sweep spec at the start, the parent's summary at the end."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / SPEC_FILE).write_text(yaml.safe_dump(sweep_spec(config)))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        swept = swept_keys(read_spec(sweep_dir))
        grid = stylize_grid(sweep_dir, swept) if config.get("task_name") == "stylize" else None
        id_file = sweep_dir / PARENT_ID_FILE
        if not config.logger.get("enabled") or not id_file.is_file():
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient(str(config.logger.tracking_uri))
        parent_id = id_file.read_text().strip()
        metric = str(config.optimized.metric)
        table = summarise(client, parent_id, metric, str(config.optimized.mode))
        if grid is not None:
            client.log_artifact(parent_id, str(grid))
        if not table.empty:
            best = table.iloc[0]
            value = best[f"best/{metric}"]
            log.info("best of %d: %s, %s = %.4g", len(table), best["name"], metric, value)
