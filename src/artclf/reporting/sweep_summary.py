"""What a multirun's parent run holds: the sweep's specification, its best child and the
leaderboard (``artclf.reporting.leaderboard``'s, the one table of runs), and for a stylize sweep one
labelled grid of every setting's results.

``SweepSummary`` is a Hydra callback (``hydra.callbacks`` in ``train.yaml``/``stylize.yaml``):
it runs in the process that launches the jobs, so it sees the command line's sweep
(``optim.lr=1e-3,1e-2``, the Optuna search space) where each job sees only its own values.
At the start it writes the specification beside the jobs (``sweep_spec.yaml``), which names
the children (``lr=0.001,model=resnet18_32``) and the parent's ``sweep.overrides``; at the
end, once every job has finished (whichever launcher ran them, in parallel or not), it reads
the children back from MLflow and writes the summary on the parent; a sweep stopped early
(Ctrl-C) gets the summary of the jobs that finished, and its parent run is KILLED.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from artclf.tracking.sweeps import (
    PARENT_ID_FILE,
    SPEC_FILE,
    child_name,
    read_spec,
    sweep_spec,
    swept_keys,
)

log = logging.getLogger(__name__)

GRID_FILE = "sweep_grid.png"


# ---------------------------------------------------------------- the parent's summary


def log_leaderboard(client: Any, parent_id: str) -> pd.DataFrame:
    """The leaderboard of a sweep's children, logged to the parent run as
    ``leaderboard/leaderboard.csv`` (every column) and ``.md`` (the key ones); returned as a
    table."""
    from artclf.reporting.leaderboard import headline, leaderboard, to_markdown
    from artclf.tracking.artifacts import log_texts
    from artclf.tracking.selection import select_runs

    table = leaderboard(select_runs(client, parent=parent_id).runs)
    markdown = to_markdown(headline(table))
    texts = {"leaderboard.csv": table.to_csv(index=False), "leaderboard.md": markdown}
    log_texts(parent_id, texts, "leaderboard")
    return table


def summarise(client: Any, parent_id: str, status: str = "FINISHED") -> pd.DataFrame | None:
    """The leaderboard of the finished children on the parent (``artclf.reporting.leaderboard``, the
    report's table: ``leaderboard/leaderboard.{csv,md}``), the best child's id, name and
    metrics, and the parent's final ``status``; None when no child finished."""
    from artclf.tracking.lifecycle import close_stale_runs
    from artclf.tracking.metrics import log_metrics
    from artclf.tracking.retry import retry_locked

    if status != "FINISHED":  # children of a killed launcher's workers stay RUNNING otherwise
        close_stale_runs(client, client.get_run(parent_id).info.experiment_id)
    try:
        table = log_leaderboard(client, parent_id)
    except ValueError as why:  # no finished child
        log.warning("no leaderboard on the sweep's run: %s", why)
        table = None
    if table is not None and pd.notna(table.iloc[0].get(table.attrs["ranked_by"])):
        best = table.iloc[0]
        retry_locked(client.set_tag, parent_id, "best_child.run_id", best["run_id"])
        retry_locked(client.set_tag, parent_id, "best_child.name", str(best["run_name"]))
        metrics = client.get_run(best["run_id"]).data.metrics
        log_metrics(parent_id, {**metrics, "sweep/children": len(table)})
    retry_locked(client.set_terminated, parent_id, status)
    return table


# ---------------------------------------------------------------- stylize grid


def stylize_grid(sweep_dir: Path, swept: list[str]) -> Path | None:
    """One figure: a row per job (labelled with its swept values), a column per
    content/style pair (the job folders' result images), saved as ``sweep_grid.png``."""
    import matplotlib.pyplot as plt
    from PIL import Image

    jobs = sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    results = {
        job: {p.stem: p for p in job.glob("*.png") if not p.stem.endswith("_grid")} for job in jobs
    }
    pairs = sorted({name for files in results.values() for name in files})
    jobs = [job for job in jobs if results[job]]
    if not pairs or not jobs:
        return None
    figure, axes = plt.subplots(
        len(jobs), len(pairs), figsize=(2.6 * len(pairs) + 1, 2.6 * len(jobs)), squeeze=False
    )
    for r, job in enumerate(jobs):
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = yaml.safe_load(overrides_file.read_text()) if overrides_file.is_file() else []
        label = child_name(overrides or [], swept) or f"job {job.name}"
        for c, pair in enumerate(pairs):
            axis = axes[r][c]
            axis.set_xticks([])
            axis.set_yticks([])
            if pair in results[job]:
                axis.imshow(Image.open(results[job][pair]).convert("RGB"))
            if r == 0:
                axis.set_title(pair.replace("__", "\n× "), fontsize=8)
            if c == 0:
                axis.set_ylabel(label.replace(",", "\n"), fontsize=8)
    figure.tight_layout()
    path = sweep_dir / GRID_FILE
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# ---------------------------------------------------------------- the Hydra callback


class SweepSummary(Callback):
    """Hydra callback: the sweep spec at the start, the parent's summary at the end, and
    also when the sweep stops early (Ctrl-C: KILLED; a failed job: FAILED), from an
    ``atexit`` hook of the launching process with the children finished by then."""

    def __init__(self) -> None:
        self.config: DictConfig | None = None
        self.interrupted = False

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        (sweep_dir / SPEC_FILE).write_text(yaml.safe_dump(sweep_spec(config)))
        self.config = config
        self._watch_interrupt()
        atexit.register(self._stopped_early)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self.config = None
        self._summarise(config, "FINISHED")

    def _watch_interrupt(self) -> None:
        """Note a Ctrl-C, then let it go on as before (Lightning and Hydra handle it)."""
        previous = signal.getsignal(signal.SIGINT)

        def noted(signum: int, frame: Any) -> None:
            self.interrupted = True
            if callable(previous):
                previous(signum, frame)
            else:
                raise KeyboardInterrupt

        with contextlib.suppress(ValueError):  # not the main thread: no handler, no note
            signal.signal(signal.SIGINT, noted)

    def _stopped_early(self) -> None:
        if self.config is not None:  # on_multirun_end never came
            config, self.config = self.config, None
            status = "KILLED" if self.interrupted else "FAILED"
            log.warning("the sweep stopped early: summarising its finished jobs (%s)", status)
            self._summarise(config, status)

    def _summarise(self, config: DictConfig, status: str) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        swept = swept_keys(read_spec(sweep_dir))
        grid = stylize_grid(sweep_dir, swept) if config.get("task_name") == "stylize" else None
        id_file = sweep_dir / PARENT_ID_FILE
        if not config.logger.get("enabled") or not id_file.is_file():
            return
        from artclf.tracking.artifacts import log_files
        from artclf.tracking.queries import connect

        client = connect(str(config.logger.tracking_uri))
        parent_id = id_file.read_text().strip()
        table = summarise(client, parent_id, status)
        if grid is not None:
            log_files(parent_id, [grid])
        if table is not None:
            best, key = table.iloc[0], table.attrs["ranked_by"]
            log.info("best of %d: %s, %s = %.4g", len(table), best["run_name"], key, best[key])
