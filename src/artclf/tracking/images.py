"""Image outputs of a run (stylised images and their grids) as MLflow artifacts and keyed
images, with keys MLflow accepts whatever the file names are."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

import mlflow
from PIL import Image

from artclf.tracking.artifacts import log_files


def run_key(name: str) -> str:
    """``name`` as MLflow accepts in metric and image keys (ASCII letters, digits, ``_-.``):
    accents folded, other characters replaced, and a short hash added where anything changed,
    so ``画.png`` and ``絵.png`` stay apart. The files on disk keep their own names."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", folded)
    if safe == name:
        return name
    return f"{safe}-{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def log_images(run_id: str, paths: list[Path], grid: Image.Image, name: str) -> None:
    """``paths`` under the run's ``images/`` and ``grid`` as the keyed image
    ``grid/<name>`` (keyed images line up across the runs of a sweep in the UI's image
    comparison; ``name`` made a valid key by ``run_key``)."""
    log_files(run_id, paths, artifact_path="images")
    mlflow.MlflowClient().log_image(run_id, grid, key=f"grid/{run_key(name)}", step=0)
