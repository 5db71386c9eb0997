"""A feedback folder (``python -m artclf.feedback export``): served images labelled by the
people who used the service, as ``<root>/<task>/<class>/<sha256>.<ext>`` beside
``feedback.csv``. ``<task>`` is the head the label is for (a label column of the data the
model was trained on, e.g. ``origin_style``), so the folder reads as training images of any
dataset whose classes it shares, whatever that dataset's own reader: ``DataSpec`` reads every
root holding a manifest with this reader."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import DatasetLayoutError, Scan
from artclf.data.sources.files import class_folders, count_loose_files, list_images

#: What marks a folder as a feedback export: one row per image and label (``MANIFEST_COLUMNS``).
MANIFEST = "feedback.csv"
MANIFEST_COLUMNS = [
    "sha256", "task", "label", "file", "source", "request_id", "index", "model", "version",
    "time",
]  # fmt: skip


def is_feedback_folder(root: str | Path) -> bool:
    return (Path(root) / MANIFEST).is_file()


def scan(root: str | Path, layout: str = "auto", cache_dir: str | Path | None = None) -> Scan:
    """One record per image, with one label column per task folder (an image labelled for
    two heads lies in both folders and is one record); its sha256 is its file name. ``layout``
    and ``cache_dir`` are unused: there is one layout and nothing is derived."""
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DatasetLayoutError(
            f"feedback: no folder {path}; pass the folder the feedback export printed as "
            "data.feedback=[FOLDER]"
        )
    skipped: Counter = Counter()
    count_loose_files(path, skipped, frozenset({MANIFEST}))
    labels: dict[str, dict[str, str]] = {}  # sha256 -> task -> class
    files: dict[str, str] = {}  # sha256 -> the first file of it
    for task in class_folders(path):
        count_loose_files(task, skipped)
        for folder in class_folders(task):
            for image in list_images(folder, skipped):
                files.setdefault(image.stem, str(image))
                labels.setdefault(image.stem, {})[task.name] = folder.name
    tasks = sorted({task for found in labels.values() for task in found})
    records = pd.DataFrame(
        [{"path": files[d], "split": "", **labels[d]} for d in sorted(files)],
        columns=["path", "split", *tasks],
    )
    content = {files[d]: d for d in files}
    return Scan(records, skipped, content=content)
