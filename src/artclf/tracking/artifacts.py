"""Writing onto a run of the current store (``queries.connect`` or ``start_run`` chose it):
tags, files, a folder's files, texts straight from memory."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import mlflow


def tag_run(run_id: str, tags: dict[str, str]) -> None:
    """Set ``tags`` on the run (one request)."""
    from mlflow.entities import RunTag

    mlflow.MlflowClient().log_batch(run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])


def log_files(run_id: str, paths: Iterable[str | Path], artifact_path: str | None = None) -> None:
    """Each of ``paths`` under the run's ``artifact_path`` (its root when None)."""
    client = mlflow.MlflowClient()
    for path in paths:
        client.log_artifact(run_id, str(path), artifact_path)


def log_folder(run_id: str, folder: str | Path, artifact_path: str | None = None) -> None:
    """The files of ``folder`` (recursively) under the run's ``artifact_path``."""
    mlflow.MlflowClient().log_artifacts(run_id, str(folder), artifact_path)


def log_texts(run_id: str, texts: dict[str, str], artifact_path: str) -> None:
    """``texts`` (file name → content) as the run's files under ``artifact_path``."""
    client = mlflow.MlflowClient()
    for name, text in texts.items():
        client.log_text(run_id, text, f"{artifact_path}/{name}")
