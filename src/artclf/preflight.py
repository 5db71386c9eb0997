"""A Hydra callback that checks the run folder before Hydra creates it: a file in its place or
a read-only location is one ``error:`` line (exit 2), not a traceback from Hydra's setup."""

from __future__ import annotations

from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from artclf.cli import run_or_exit
from artclf.validation import check_writable_dir


class WritableOutputDir(Callback):
    """Registered under ``hydra.callbacks`` in every entry config."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_or_exit(check_writable_dir, config.hydra.run.dir, "run folder (hydra.run.dir)")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_or_exit(check_writable_dir, config.hydra.sweep.dir, "sweep folder (hydra.sweep.dir)")
