"""The one way from any source of a trained network to its checkpoint's contents.

A source is a ``.ckpt`` path, an http(s) URL, a registry URI (``models:/<name>@<alias>`` or
``models:/<name>/<version>``) or a run's artifact (``runs:/<run id>/<path>``). Registry and run
sources are downloaded once into the cache; every source then ends in ``checkpoints.read``:
weights only, never a pickle, and a one-line error for a missing or broken file. Every loader
(classifier, CycleGAN, AdaIN, the logged MLflow Models, the app) goes through
``read_checkpoint``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from artclf.weights import checkpoints

_RUN_ARTIFACT = re.compile(r"^runs:/(?P<run_id>[0-9a-f]+)/(?P<path>.+)$")


def cache_dir() -> Path:
    """Where registry and run checkpoints are downloaded (``ARTCLF_CACHE``)."""
    root = Path(os.environ.get("ARTCLF_CACHE", Path.home() / ".cache" / "artclf"))
    return root / "registry"


def is_registry_source(source: str | Path) -> bool:
    return str(source).startswith(("models:/", "runs:/"))


def checkpoint_file(source: str | Path) -> str:
    """A path or URL that ``checkpoints.read`` takes: registry URIs and run artifacts are
    downloaded (once); paths and URLs are returned as they are."""
    text = str(source)
    if text.startswith("models:/"):
        from artclf.tracking.registry import resolve_checkpoint

        return str(resolve_checkpoint(text, cache_dir()))
    match = _RUN_ARTIFACT.match(text)
    if match:
        return str(_run_artifact(match["run_id"], match["path"]))
    if text.startswith("runs:/"):
        raise checkpoints.CheckpointError(
            f"{text!r} is not a run artifact URI; use runs:/<run id>/checkpoints/<file>.ckpt"
        )
    return text


def _run_artifact(run_id: str, path: str) -> Path:
    from mlflow.exceptions import MlflowException

    from artclf.tracking.registry import registry_client

    target = cache_dir() / run_id / path
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            registry_client().download_artifacts(run_id, path, str(target.parent))
        except (MlflowException, OSError) as error:
            reason = str(error).splitlines()[0]
            raise checkpoints.CheckpointError(
                f"runs:/{run_id}/{path} cannot be downloaded ({reason}); "
                "check the run id and the path in the MLflow UI's Artifacts tab"
            ) from None
    return target


def read_checkpoint(source: str | Path) -> dict[str, Any]:
    """The contents of the checkpoint ``source`` names, read weights-only."""
    return checkpoints.read(checkpoint_file(source))


def resolve_ckpt_option(cfg: Any) -> None:
    """``ckpt_path=models:/<name>@<alias>`` (or ``/<version>``, or ``runs:/…``) becomes, in
    place, the local checkpoint it names. (Not ``model=``: Hydra reads that as the ``model``
    group.)"""
    if is_registry_source(cfg.ckpt_path):
        cfg.ckpt_path = checkpoint_file(cfg.ckpt_path)
