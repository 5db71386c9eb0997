"""``python -m artclf.describe data=<name> data.root=PATH``: what a download holds, as the
training run will see it — the first thing to run on a new download.

Prints the classes in index order, images per class per split, class weights when used,
skipped files by reason and the readers' warnings; ``output=json`` prints one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from typing import Any

import hydra
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from artclf.cli import run_or_exit
from artclf.data.pipeline import prepare_records
from artclf.data.sources.base import SKIP_REASONS

OUTPUTS = ("table", "json")


class _Collect(logging.Handler):
    """Keeps the warnings the readers log, so the report can show them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def describe(cfg: DictConfig) -> dict[str, Any]:
    """``{"classes", "counts", "skipped"}`` (plus ``class_weights`` when used, ``warnings``)
    for ``cfg.data``, through the same preparation as training."""
    data = cfg.data
    if "synthetic" in data:
        from artclf.data.synthetic import generate

        generate(data.root, **data.synthetic)
    collect = _Collect()
    logger = logging.getLogger("artclf.data")
    logger.addHandler(collect)
    try:
        prepared = prepare_records(
            data.source,
            data.root,
            labels=data.labels,
            layout=data.layout,
            top_k=data.top_k,
            min_count=data.min_count,
            drop_unknown=data.drop_unknown,
            val_fraction=data.val_fraction,
            test_fraction=data.test_fraction,
            max_per_class=data.max_per_class,
            class_weights=data.class_weights,
            seed=data.seed,
            cache_dir=data.cache_dir,
        )
    finally:
        logger.removeHandler(collect)
    skipped = {reason: int(prepared.skipped.get(reason, 0)) for reason in SKIP_REASONS}
    skipped.update({r: int(n) for r, n in prepared.skipped.items() if r not in skipped})
    report: dict[str, Any] = {
        "classes": list(prepared.classes),
        "counts": prepared.counts(),
        "skipped": skipped,
    }
    if prepared.class_weights is not None:
        report["class_weights"] = dict(zip(prepared.classes, prepared.class_weights, strict=True))
    report["warnings"] = collect.messages
    return report


def print_table(report: dict[str, Any], console: Console) -> None:
    """The report as a rich table, then skipped files and warnings."""
    weights = report.get("class_weights")
    table = Table(title=f"{len(report['classes'])} classes")
    for column in ("#", "class", "train", "val", "test", "total", *(["weight"] if weights else [])):
        table.add_column(column, justify="left" if column == "class" else "right")
    counts = report["counts"]
    for index, name in enumerate(report["classes"]):
        row = [counts[split][name] for split in ("train", "val", "test")]
        weight = [f"{weights[name]:.3f}"] if weights else []
        table.add_row(str(index), name, *map(str, row), str(sum(row)), *weight)
    totals = [sum(counts[split].values()) for split in ("train", "val", "test")]
    table.add_row("", "total", *map(str, totals), str(sum(totals)), *([""] if weights else []))
    console.print(table)
    skipped = {r: n for r, n in report["skipped"].items() if n}
    console.print(
        "skipped: " + (", ".join(f"{r} {n}" for r, n in skipped.items()) if skipped else "none"),
        highlight=False,
        soft_wrap=True,
    )
    for message in report["warnings"]:
        console.print(f"warning: {message}", style="yellow", highlight=False, soft_wrap=True)


def run(cfg: DictConfig) -> dict[str, Any]:
    """Describe and print; stdout carries the report only (progress bars go to stderr)."""
    if cfg.output not in OUTPUTS:
        raise ValueError(f"unknown output {cfg.output!r}; valid choices: {', '.join(OUTPUTS)}")
    with contextlib.redirect_stdout(sys.stderr):
        report = describe(cfg)
    if cfg.output == "json":
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report, Console())
    return report


@hydra.main(version_base="1.3", config_path="conf", config_name="describe")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    main()
