"""Runs made from another run's checkpoint (evaluate, explain, CycleGAN apply).

They live in their own experiments (``artclf-evaluate``, ...), so each is tagged with the
checkpoint and the run that wrote it, and its description links to that run: the MLflow UI
then leads from an evaluation back to the training it scores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from omegaconf import DictConfig

from artclf.tracking.artifacts import log_folder, tag_run
from artclf.tracking.experiments import run_page
from artclf.tracking.metrics import log_metrics
from artclf.tracking.queries import Client, connect, find_run
from artclf.tracking.runs import start_run
from artclf.weights import checkpoints

SOURCE_RUN_TAG = "artclf.source_run_id"
SOURCE_CKPT_TAG = "artclf.source_ckpt"
DESCRIPTION_TAG = "mlflow.note.content"  # what the UI shows as the run's description


def checkpoint_entries(run: mlflow.ActiveRun | None) -> dict[str, str | None]:
    """What every checkpoint of a training carries about its run (``source_run_id`` reads
    it back): the run's id, None for a training without tracking."""
    return {checkpoints.RUN_ID_KEY: run.info.run_id if run is not None else None}


def source_run_id(ckpt_path: str | Path) -> str | None:
    """The MLflow run that wrote the checkpoint (None for runs without tracking)."""
    return checkpoints.read(ckpt_path).get(checkpoints.RUN_ID_KEY)


def source_link(client: Client, run_id: str) -> str:
    """Markdown naming the source run, linked to its page in the UI (a relative link, so it
    works whatever host serves the UI)."""
    source = find_run(client, run_id)
    if source is None:
        return f"run `{run_id}` (not in this tracking store)"
    return f"[{source.info.run_name}]({run_page(source.info.experiment_id, run_id)})"


@contextmanager
def derived_run(cfg: DictConfig, ckpt_path: str | Path) -> Iterator[mlflow.ActiveRun | None]:
    """``start_run(cfg)``, tagged with ``ckpt_path`` and its source run and described with a
    link to that run (``None`` when tracking is off)."""
    with start_run(cfg) as run:
        if run is None:
            yield None
            return
        ckpt = Path(ckpt_path).expanduser().resolve()
        tags = {SOURCE_CKPT_TAG: str(ckpt)}
        source = source_run_id(ckpt)
        if source:
            link = source_link(connect(), source)
            tags[SOURCE_RUN_TAG] = source
            tags[DESCRIPTION_TAG] = f"{cfg.task_name} of {link}, checkpoint `{ckpt.name}`"
        else:
            tags[DESCRIPTION_TAG] = f"{cfg.task_name} of `{ckpt}` (written without tracking)"
        tag_run(run.info.run_id, tags)
        yield run


def log_derived_results(
    cfg: DictConfig,
    ckpt_path: str | Path,
    metrics: dict[str, float],
    folder: Path,
    artifact_path: str | None = None,
) -> None:
    """A derived run of ``ckpt_path`` holding ``metrics`` and the files of ``folder`` (under
    ``artifact_path``, default ``folder.name``); nothing when tracking is off."""
    with derived_run(cfg, ckpt_path) as run:
        if run is None:
            return
        log_metrics(run.info.run_id, metrics)
        log_folder(run.info.run_id, folder, artifact_path or folder.name)
