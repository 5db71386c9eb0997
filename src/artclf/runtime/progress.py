"""Progress as log lines, for output that is not a terminal (nohup, cluster logs, pipes).

A progress bar written to a file is either nothing (buffered) or a wall of carriage
returns; a line every N steps or M seconds, with the rate and the time left, is what a log
reader needs. ``ProgressReporter`` decides when to print; ``ProgressLog`` feeds it from a
Lightning fit, ``artclf.style.engine`` from the Gatys loop, and ``progress`` from any loop over
files (explain, predict, evaluate, stylize), as a bar where a person watches a terminal.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from lightning.pytorch.callbacks import Callback, ModelSummary
from lightning.pytorch.utilities.model_summary.model_summary import _format_summary_table

log = logging.getLogger("artclf.runtime.progress")
T = TypeVar("T")
#: At most about this many lines for one loop in a log (and one per 30 s), none
#: closer than this many seconds but the last: a loop done in a second says so in one line.
LINES_PER_LOOP = 10
MIN_SECONDS_BETWEEN_LINES = 2.0


def _duration(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class ProgressReporter:
    """Log ``label step k/total, values, rate, ETA`` every ``every_n_steps`` steps or
    ``every_seconds`` seconds, whichever comes first, and at the last step."""

    def __init__(
        self,
        label: str,
        total: int | None,
        every_n_steps: int = 50,
        every_seconds: float = 30.0,
        unit: str = "steps",
    ) -> None:
        self.label, self.total, self.unit = label, total, unit
        self.every_n_steps, self.every_seconds = max(1, every_n_steps), every_seconds
        self.started = self.last = time.monotonic()
        self.last_step = 0

    def update(self, step: int, prefix: str = "", **values: float) -> bool:
        """Report ``step`` (1-based, steps done so far) if it is time; return whether it was."""
        now = time.monotonic()
        due = (
            step - self.last_step >= self.every_n_steps
            or now - self.last >= self.every_seconds
            or (self.total is not None and step >= self.total)
        )
        if not due or step <= self.last_step:
            return False
        self.last, self.last_step = now, step
        rate = step / max(now - self.started, 1e-9)
        parts = [f"{self.label}{prefix}", f"step {step}" + (f"/{self.total}" if self.total else "")]
        parts += [f"{name} {value:.4g}" for name, value in values.items()]
        parts.append(f"{rate:.3g} {self.unit}/s")
        if self.total:
            parts.append(f"ETA {_duration(max(self.total - step, 0) / rate)}")
        log.info(", ".join(parts))
        return True

    def report(self, step: int, values: dict[str, float]) -> None:
        """``update`` as a callback taking the step and a dict of values."""
        self.update(step, **values)


class ProgressLog(Callback):
    """Lightning callback: training progress lines (epoch, step, loss, rate, ETA) and one line
    of validation metrics per epoch, in place of a progress bar when there is no terminal."""

    def __init__(self, every_n_steps: int = 50, every_seconds: float = 30.0) -> None:
        self.every_n_steps, self.every_seconds = every_n_steps, every_seconds
        self.reporter: ProgressReporter | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        total = trainer.estimated_stepping_batches
        total = int(total) if total != float("inf") else None
        self.reporter = ProgressReporter("train", total, self.every_n_steps, self.every_seconds)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.reporter is None:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        values = {"loss": float(loss)} if loss is not None else {}
        epoch = f" epoch {trainer.current_epoch + 1}/{trainer.max_epochs}"
        self.reporter.update(trainer.global_step, prefix=epoch, **values)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking:
            return
        metrics = {
            k: float(v)
            for k, v in trainer.callback_metrics.items()
            if k.startswith("val/") and getattr(v, "numel", lambda: 1)() == 1
        }
        if metrics:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(metrics.items()))
            log.info("validation epoch %d: %s", trainer.current_epoch + 1, shown)


def progress_callback(every_n_steps: int = 50, every_seconds: float = 30.0) -> Callback:
    """Lightning's rich bar on a terminal, else ``ProgressLog`` lines (``conf/callbacks``)."""
    if sys.stdout.isatty():
        from lightning.pytorch.callbacks import RichProgressBar

        return RichProgressBar()
    return ProgressLog(every_n_steps, every_seconds)


def progress(
    items: Sequence[T],
    label: str,
    unit: str = "images",
    size: Callable[[T], int] = lambda _: 1,
) -> Iterator[T]:
    """``items`` unchanged, with their progress shown: a bar on stderr when it is a terminal
    (stdout may be a ``predict output=json`` pipe), else ``ProgressReporter`` lines. Progress
    counts ``unit``s, ``size(item)`` of them per item (a batch: its images). One item shows
    nothing: the app classifying one image, or one batch, is not a long job."""
    if len(items) <= 1:
        yield from items
        return
    total = sum(size(item) for item in items)
    if sys.stderr.isatty():
        yield from _bar(items, label, total, unit, size)
        return
    reporter = ProgressReporter(label, total, max(1, total // LINES_PER_LOOP), unit=unit)
    done = 0
    for item in items:
        yield item
        done += size(item)
        if done == total or time.monotonic() - reporter.last >= MIN_SECONDS_BETWEEN_LINES:
            reporter.update(done)


def _bar(
    items: Iterable[T], label: str, total: int, unit: str, size: Callable[[T], int]
) -> Iterator[T]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn(unit))
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=total)
        for item in items:
            yield item
            bar.advance(task, size(item))


def shown_value(name: str, value: float) -> str:
    """A metric as a person reads it: counts (``n_images``) as integers, other numbers to 4
    significant digits (not ``900.0000``, not ``0.8516129032258064``)."""
    if name.rsplit("/", 1)[-1].startswith("n_") and float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def shown_values(values: dict[str, float | None]) -> str:
    """``name=value, ...`` by ``shown_value``; missing values (None) left out."""
    return ", ".join(f"{k}={shown_value(k, v)}" for k, v in values.items() if v is not None)


class ParamsSummary(ModelSummary):
    """Lightning's model summary without its FLOPs column and total: Lightning counts FLOPs
    only for a module with an ``example_input_array``, so every run printed ``Total FLOPs: 0``
    and a column of zeros. The parameter counts and sizes are as Lightning prints them."""

    @staticmethod
    def summarize(
        summary_data: list[tuple[str, list[str]]],
        total_parameters: int,
        trainable_parameters: int,
        model_size: float,
        total_training_modes: dict[str, int],
        total_flops: int,
        **summarize_kwargs: Any,
    ) -> None:
        columns = [column for column in summary_data if column[0] != "FLOPs"]
        table = _format_summary_table(
            total_parameters, trainable_parameters, model_size, total_training_modes, 0, *columns
        )
        lines = [line for line in table.splitlines() if not line.endswith("Total Flops")]
        log.info("\n%s", "\n".join(lines))
