"""What happens once a whole sweep has run (a Hydra callback, in the launching process): the
best job's model is registered when the sweep asked for registration (``logger.register`` /
``logger.registered_model_name``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from artclf.tracking.queries import connect

log = logging.getLogger(__name__)


def sweep_parent_id(sweep_dir: str | Path) -> str | None:
    """The MLflow parent run of the sweep in ``sweep_dir`` (written by ``tracking.runs``)."""
    id_file = Path(sweep_dir) / ".mlflow_parent_run_id"
    return id_file.read_text().strip() if id_file.is_file() else None


def register_best(parent_id: str):
    """Register the sweep's best finished job (by the metric it optimised) under the name its
    jobs asked for (``artclf.register_as``); None when they asked for none."""
    from artclf.publishing.publish import REGISTER_AS_TAG
    from artclf.reporting.leaderboard import leaderboard
    from artclf.tracking.registry import register_trained
    from artclf.tracking.selection import select_runs

    runs = select_runs(connect(), parent=parent_id).runs
    finished = [r for r in runs if r.info.status == "FINISHED" and REGISTER_AS_TAG in r.data.tags]
    if not finished:
        return None
    best = leaderboard(finished).iloc[0]
    name = next(r for r in finished if r.info.run_id == best["run_id"]).data.tags[REGISTER_AS_TAG]
    version = register_trained(best["run_id"], name)
    log.info("registered the best job %s as %s version %s", best["run_name"], name, version.version)
    return version


class SweepEnd(Callback):
    """The best job registered (unless every job already was); the parent's leaderboard is
    ``reporting.sweep_summary.SweepSummary``'s."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if not config.logger.get("enabled"):
            return
        parent_id = sweep_parent_id(config.hydra.sweep.dir)
        if parent_id is None:
            return
        connect(str(config.logger.tracking_uri))
        register_best(parent_id)
