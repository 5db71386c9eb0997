"""What a download holds, as a training run will see it: the report ``artclf.describe``
prints (classes in index order, images per class per split, class weights, skipped files by
reason and the readers' warnings)."""

from __future__ import annotations

import logging
from typing import Any

from rich.console import Console
from rich.table import Table

from artclf.data.sources.base import SKIP_REASONS
from artclf.data.spec import DataSpec


class _Collect(logging.Handler):
    """Keeps the warnings the readers log, so the report can show them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def data_overview(spec: DataSpec) -> dict[str, Any]:
    """``{"classes", "counts", "skipped"}`` (plus ``class_weights`` when used, ``warnings``)
    for ``spec``, through the same preparation as training."""
    collect = _Collect()
    logger = logging.getLogger("artclf.data")
    logger.addHandler(collect)
    try:
        labelled = spec.records()
    finally:
        logger.removeHandler(collect)
    skipped = {reason: int(labelled.skipped.get(reason, 0)) for reason in SKIP_REASONS}
    skipped.update({r: int(n) for r, n in labelled.skipped.items() if r not in skipped})
    report: dict[str, Any] = {
        "classes": list(labelled.classes),
        "counts": labelled.counts(),
        "skipped": skipped,
    }
    if labelled.class_weights is not None:
        report["class_weights"] = dict(zip(labelled.classes, labelled.class_weights, strict=True))
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
