"""Markdown tables generated from the MLflow store, with the command that made each row, for
the READMEs (``python -m artclf.report table=results|ablation write=README.md``).

- ``results``: one row per command (its latest finished run): the command, the chosen
  metrics, the wall time.
- ``ablation``: runs grouped by config, i.e. what the command set apart from
  ``group_out`` (the cross-validation fold and the seed); per group the mean ± sd (sample sd,
  n - 1) of each metric over its runs, the number of runs (folds), the wall time per run, and
  the one multirun command that makes the whole group.

A file's table lives between ``<!-- report:NAME -->`` and ``<!-- /report -->``; ``write=``
replaces what is between them and records the command that did it, so regeneration is one
command and the rest of the file is left alone.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from artclf.reporting.leaderboard import NOISE_PARAMS, ranking, to_markdown, wall_seconds
from artclf.tracking.command import COMMAND_TAG
from artclf.tracking.queries import Client, Run, matching

TABLES = ("results", "ablation")
END_MARK = "<!-- /report -->"
#: Environment variables whose value a command shows as ``$NAME`` (machine-specific paths).
PATH_VARIABLES = ("ARTCLF_REAL_DATA", "ARTCLF_HOME")


def shown_command(run: Run) -> str:
    """The run's command, machine-specific paths written as ``$ARTCLF_REAL_DATA`` and the like."""
    command = run.data.tags.get(COMMAND_TAG, "")
    for name in PATH_VARIABLES:
        value = os.environ.get(name)
        if value:
            command = command.replace(value.rstrip("/"), f"${name}")
    return command


def percent_metric(name: str) -> bool:
    return name.endswith(("acc", "f1"))


def fmt_metric(name: str, value: float) -> str:
    if pd.isna(value):
        return ""
    return f"{100 * value:.1f} %" if percent_metric(name) else f"{value:.4g}"


def fmt_mean_sd(name: str, values: Sequence[float]) -> str:
    """``82.6 ± 1.3 %`` (sample sd); a single value has no sd; none is empty."""
    series = pd.Series(values, dtype=float).dropna()
    if series.empty:
        return ""
    if len(series) == 1:
        return fmt_metric(name, float(series.iloc[0]))
    scale, unit = (100, " %") if percent_metric(name) else (1, "")
    mean, sd = scale * series.mean(), scale * series.std(ddof=1)
    return f"{mean:.1f} ± {sd:.1f}{unit}" if unit else f"{mean:.4g} ± {sd:.2g}"


def fmt_duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def results_table(runs: list[Run], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per distinct command (its latest run), best first as the leaderboard ranks."""
    latest: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):
        latest[shown_command(run) or run.info.run_id] = run
    metric, mode = ranking(runs)
    chosen = sorted(
        latest.values(),
        key=lambda r: r.data.metrics.get(metric, float("nan")),
        reverse=mode == "max",
    )
    rows = []
    for run in chosen:
        row = {"run": run.info.run_name, "command": f"`{shown_command(run)}`"}
        row.update({m: fmt_metric(m, run.data.metrics.get(m, float("nan"))) for m in metrics})
        row["wall time"] = fmt_duration(wall_seconds(run))
        rows.append(row)
    return pd.DataFrame(rows)


def run_config(run: Run, from_overrides: bool) -> dict[str, str]:
    """What the run's command set (its overrides), or, for runs without one, its params;
    without the settings that say where it ran (paths, store, data folder), so that folds run
    on two machines make one row."""
    if from_overrides:
        items = shlex.split(run.data.tags["overrides"])
        config = dict(item.split("=", 1) for item in items if "=" in item)
    else:
        config = run.data.params
    return {k: v for k, v in config.items() if not k.startswith(NOISE_PARAMS)}


def group_runs(runs: list[Run], group_out: Sequence[str]) -> list[tuple[dict[str, str], list[Run]]]:
    """Runs with the same config apart from ``group_out`` keys, one run per ``group_out``
    value (the latest, when a fold was run twice)."""
    from_overrides = all("overrides" in r.data.tags for r in runs)
    groups: dict[tuple, dict[tuple, Run]] = {}
    for run in sorted(runs, key=lambda r: r.info.start_time):
        config = run_config(run, from_overrides)
        key = tuple(sorted((k, v) for k, v in config.items() if k not in group_out))
        varied = tuple(config.get(k) for k in group_out)
        groups.setdefault(key, {})[varied] = run
    return [(dict(key), list(members.values())) for key, members in groups.items()]


def config_labels(configs: list[dict[str, str]]) -> list[str]:
    """Each config by what sets it apart from the others (all of it when there is one)."""
    keys = sorted({k for c in configs for k in c})
    varied = [k for k in keys if len({c.get(k) for c in configs}) > 1] or keys
    return [" ".join(f"{k}={c[k]}" for k in varied if k in c) or "(defaults)" for c in configs]


def group_command(run: Run, members: list[Run], group_out: Sequence[str]) -> str:
    """The multirun command that makes the whole group: one run's command with each
    ``group_out`` override listing the values the group holds."""
    words = shlex.split(shown_command(run))
    if not words:
        return ""
    values = {
        key: sorted({m.data.params.get(key) for m in members} - {None}, key=_natural)
        for key in group_out
    }
    typed = {w.split("=", 1)[0] for w in words}
    kept = [w for w in words if w.split("=", 1)[0] not in group_out]
    added = [f"{k}={','.join(v)}" for k, v in values.items() if k in typed and v]
    if any("," in a for a in added) and "-m" not in kept[3:4]:
        kept.insert(3, "-m")
    return " ".join(kept + added)


def _natural(value: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", value))


def ablation_table(
    runs: list[Run], metrics: Sequence[str], group_out: Sequence[str]
) -> pd.DataFrame:
    """One row per config: mean ± sd of ``metrics`` over its runs, best first."""
    groups = group_runs(runs, group_out)
    metric, mode = ranking(runs)
    labels = config_labels([config for config, _ in groups])
    rows = []
    for label, (_, members) in zip(labels, groups, strict=True):
        row: dict[str, object] = {"config": f"`{label}`", "n": len(members)}
        for name in metrics:
            values = [m.data.metrics.get(name, float("nan")) for m in members]
            row[f"{name} (mean ± sd)"] = fmt_mean_sd(name, values)
        walls = [wall_seconds(m) for m in members]
        row["wall time per run"] = fmt_duration(sum(walls) / len(walls))
        row["command"] = f"`{group_command(members[-1], members, group_out)}`"
        row["_sort"] = pd.Series(
            [m.data.metrics.get(metric, float("nan")) for m in members], dtype=float
        ).mean()
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(
        "_sort", ascending=mode == "min", na_position="last", kind="stable"
    )
    return table.drop(columns="_sort").reset_index(drop=True)


def replace_region(path: Path, name: str, body: str) -> None:
    """Rewrite what is between ``<!-- report:NAME -->`` and ``<!-- /report -->`` in ``path``."""
    start = f"<!-- report:{name} -->"
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(END_MARK), re.DOTALL)
    found = len(pattern.findall(text))
    if found != 1:
        raise ValueError(
            f"{path} has {found} '{start} ... {END_MARK}' regions, not one; put one pair of "
            "these lines where the table goes"
        )
    new = pattern.sub(lambda _: f"{start}\n{body.rstrip()}\n{END_MARK}", text)
    path.write_text(new, encoding="utf-8")


def markdown_table(
    runs: list[Run],
    table: str,
    metrics: Sequence[str],
    group_out: Sequence[str],
    command: str,
) -> str:
    """The chosen table as markdown, preceded by the command that regenerates it."""
    if table == "results":
        frame = results_table(runs, metrics)
    elif table == "ablation":
        frame = ablation_table(runs, metrics, group_out)
    else:
        raise ValueError(f"table={table!r}; choose one of {', '.join(TABLES)}")
    return f"<!-- generated by: {command} -->\n\n{to_markdown(frame)}"


def write_table(client: Client, runs: list[Run], cfg, command: str) -> str:
    """The ``cfg.table`` of the runs (narrowed by ``cfg.filter``), written into the
    ``cfg.region`` region of ``cfg.write`` when given; returned as markdown."""
    runs = matching(client, runs, cfg.get("filter"))
    if not runs:
        raise ValueError(f"no finished training run matches filter={cfg.filter!r}")
    metrics = [str(m) for m in cfg.metrics]
    group_out = [str(k) for k in cfg.group_out]
    text = markdown_table(runs, str(cfg.table), metrics, group_out, command)
    if cfg.get("write"):
        path = Path(str(cfg.write))
        if not path.is_file():
            raise ValueError(f"write={path}: no such file; pass a README that has the region")
        replace_region(path, str(cfg.get("region") or cfg.table), text)
    return text
