"""A Hydra callback that checks the run folder before Hydra creates it: a file in its place or
a read-only location is one ``error:`` line (exit 2), not a traceback from Hydra's setup."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit


def check_writable_dir(path: str | Path, what: str) -> Path:
    """``path`` as a folder this process can write into (created if missing)."""
    folder = Path(path).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{what} {str(folder)!r} is a file; pass a folder path")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(
            f"{what} {str(folder)!r} cannot be created ({error.strerror}); pass a writable folder"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"{what} {str(folder)!r} is not writable; pass a writable folder")
    return folder


class WritableOutputDir(Callback):
    """Registered under ``hydra.callbacks`` in every entry config."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_or_exit(check_writable_dir, config.hydra.run.dir, "run folder (hydra.run.dir)")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_or_exit(check_writable_dir, config.hydra.sweep.dir, "sweep folder (hydra.sweep.dir)")
