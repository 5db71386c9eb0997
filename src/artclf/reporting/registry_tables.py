"""The registry command's tables: the versions ``action=list`` shows, and a comparison of a
candidate with the champion (plain text in a pipe or a narrow terminal, ``reporting.terminal``)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

SHOWN_METRICS = ("test/acc", "test/macro_f1")  # output=json lists every metric


def show_versions(rows: list[dict], output: str) -> None:
    """One line per version (``reporting.terminal``: plain text in a pipe or a narrow terminal)."""
    import pandas as pd

    from artclf.reporting.terminal import print_table

    if output == "json":
        return print(json.dumps(rows, indent=2))
    if not rows:
        return print("no registered models; train with logger.register=true")
    metrics = [m for m in SHOWN_METRICS if any(m in r["metrics"] for r in rows)]
    table = pd.DataFrame(
        {
            "name": r["name"],
            "version": r["version"],
            "aliases": " ".join(f"@{a}" for a in r["aliases"]),
            "run": (r["run_id"] or "")[:8],
            "data": r["data"] or "",
            **{m: r["metrics"].get(m, float("nan")) for m in metrics},
        }
        for r in rows
    )
    print_table(table, "registered model versions")


def show_plan(size: int, plan: dict, alpha: float, output: str) -> None:
    """The sample size ``action=plan`` computed, with what it was planned for."""
    if output == "json":
        return print(json.dumps({"sample_size": size, **plan}))
    print(
        f"sample_size={size}: images to label before comparing, to detect an accuracy gain of "
        f"{plan['gain']:.0%} with {plan['power']:.0%} power at alpha={alpha} when the versions "
        f"disagree on {plan['discordant']:.0%} of images"
    )


def show_comparison(result: Any) -> None:
    """Metrics and per-class recall of both versions side by side, then the verdict."""
    table = Table(title=f"{result.candidate.name}: candidate vs champion ({result.split})")
    for column in ["metric", result.champion.label, result.candidate.label, "delta"]:
        table.add_column(column, justify="left" if column == "metric" else "right")
    for metric, value in result.champion.metrics.items():
        other = result.candidate.metrics[metric]
        table.add_row(metric, f"{value:.4f}", f"{other:.4f}", f"{other - value:+.4f}")
    Console().print(table)
    classes = Table(title="per-class recall")
    for column in ["class", "champion", "candidate", "delta", "images"]:
        classes.add_column(column, justify="left" if column == "class" else "right")
    for _, row in result.per_class_deltas().iterrows():
        cells = [f"{row[k]:.3f}" for k in ("champion_recall", "candidate_recall")]
        classes.add_row(row["class"], *cells, f"{row['delta']:+.3f}", str(row["support"]))
    Console().print(classes)
    print(result.verdict())
