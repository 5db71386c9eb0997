"""The command line that reruns a Hydra job on its own, tagged on its run (``artclf.command``)
so a report can print, beside each row, the command that made it."""

from __future__ import annotations

import shlex

from hydra.core.hydra_config import HydraConfig

COMMAND_TAG = "artclf.command"


def job_command() -> str | None:
    """``python -m artclf.<entry> <this job's overrides>`` (a sweep's job: its own values, so
    the command reruns that one job), or None outside a Hydra job (a library call)."""
    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    return " ".join(
        ["python", "-m", f"artclf.{hydra.job.name}", *map(shlex.quote, hydra.overrides.task)]
    )
