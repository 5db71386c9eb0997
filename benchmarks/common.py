"""What every bench row shares: the row, the throughput clock, small models, a quiet trainer,
the machine's name and the report (a rich table and ``bench.json``)."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from rich.console import Console
from rich.table import Table
from torch import nn


@dataclass
class Row:
    name: str
    ours: float  # images/s
    baseline: float  # images/s
    baseline_name: str
    unit: str = "img/s"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


def throughput(step: Callable[[], int], seconds: float, warmup: int = 2) -> float:
    """Items per second of ``step`` (which returns how many items it processed)."""
    for _ in range(warmup):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    return done / (time.perf_counter() - start)


def small_model_cfg(arch: str, image_size: int) -> dict:
    pool = "flatten" if arch == "simple_cnn" else "avg"
    return {"arch": arch, "image_size": image_size, "pretrained": False, "pool": pool}


#: the one task of the benchmark models (their networks return ``{TASK: logits}``)
TASK = "style"


def small_model(arch: str, image_size: int, num_classes: int = 20) -> nn.Module:
    from artclf.models.classifier import create_classifier

    return create_classifier(small_model_cfg(arch, image_size), {TASK: num_classes})


#: ``conf/aug/light.yaml``: what the input and end-to-end rows augment with.
LIGHT_AUG = {"hflip": 0.5, "vflip": 0.5, "rotation": 30.0}


def quiet_trainer(epochs: int, **options: Any) -> L.Trainer:
    """A Trainer that only trains: no logger, checkpoints, progress bar or summary."""
    return L.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **options,
    )


def machine() -> str:
    """The GPU, or the CPU model and torch's thread count: ratios are comparable only on one."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    cpu = models[0] if models else platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads"


def report(rows: list[Row], out: Path) -> None:
    table = Table(title=f"artclf bench — {machine()}")
    for column in ("measurement", "ours", "baseline", "ratio"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.ours:,.1f} {row.unit}",
            f"{row.baseline:,.{2 if row.unit == '×' else 0}f} ({row.baseline_name})",
            f"{row.ratio:.2f}×",
        )
    Console().print(table)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine(),
        "torch": torch.__version__,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
    }
    path = out / "bench.json"
    path.write_text(json.dumps(payload, indent=2))
    print(f"written {path}")
