"""``python -m artclf.registry action=list|compare|promote``: the MLflow Model Registry from
the command line — which versions exist, is the challenger better than the champion, and
moving ``@champion`` only when it is (``force=true`` overrides). See ``conf/registry.yaml``."""

from __future__ import annotations

import json
import sys

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from artclf.runtime.cli import run_or_exit

ACTIONS = ("list", "compare", "promote")
SHOWN_METRICS = ("test/acc", "test/macro_f1")  # output=json lists every metric


def run(cfg: DictConfig) -> None:
    from artclf.evaluation import comparison
    from artclf.tracking.registry import list_versions

    if cfg.action not in ACTIONS or cfg.output not in ("table", "json"):
        raise ValueError(
            f"action={cfg.action}, output={cfg.output}; valid: action={'|'.join(ACTIONS)}, "
            "output=table|json"
        )
    if cfg.action == "list":
        return show_versions(list_versions(cfg.get("name")), str(cfg.output))
    result = comparison.compare(cfg)
    run_id = comparison.log_comparison(cfg, result)
    reason = comparison.promote(cfg, result) if cfg.action == "promote" else None
    if cfg.output == "json":
        json.dump({**result.to_dict(), "run_id": run_id, "promoted": reason}, sys.stdout, indent=2)
        return print()
    show_comparison(result)
    if cfg.action == "promote":
        print(f"promoted v{result.candidate.version} to @champion" if reason else "not promoted")


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


def show_comparison(result) -> None:
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


@hydra.main(version_base="1.3", config_path="conf", config_name="registry")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    main()
