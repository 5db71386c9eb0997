"""ArtStation portfolios: ``<root>/<artist_slug>/*.{jpg,jpeg,png,webp,gif}`` and an optional
``class_weights.csv`` (``artist,n_images,class_weight``).

The CSV's weights are used when it is there; otherwise the pipeline computes
``total / (n_classes * count)``. Disagreements between the CSV and the folders are logged
as warnings (``describe`` shows them): they usually mean a partial download.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import (
    IMAGE_EXTENSIONS,
    Scan,
    class_folders,
    layout_error,
    list_images,
    require_dir,
)

WEIGHTS_CSV = "class_weights.csv"
EXPECTED = (
    "ArtStation portfolios: <root>/<artist>/*.jpg|png|webp|gif (+ optional class_weights.csv)"
)

log = logging.getLogger(__name__)


def scan(root: str | Path, layout: str = "auto") -> Scan:
    """Records (``path``, ``split`` = "", ``artist`` = folder name) and the CSV's weights."""
    path = require_dir(root, "artstation", EXPECTED)
    if layout != "auto":
        raise ValueError(f"unknown data.layout {layout!r} for artstation; valid choices: auto")
    skipped: Counter = Counter()
    rows = [
        (str(file), "", folder.name)
        for folder in class_folders(path)
        for file in list_images(folder, skipped)
    ]
    if not rows:
        raise layout_error("artstation", path, EXPECTED, _looks_like)
    records = pd.DataFrame(rows, columns=["path", "split", "artist"])
    weights = None
    if (path / WEIGHTS_CSV).is_file():
        table = read_weights(path / WEIGHTS_CSV)
        for message in mismatches(table, records["artist"].value_counts()):
            log.warning("artstation: %s", message)
        weights = dict(zip(table["artist"], table["class_weight"], strict=True))
    return Scan(records, skipped, class_weights=weights)


def read_weights(csv: Path) -> pd.DataFrame:
    """``artist, n_images, class_weight`` rows of ``class_weights.csv``."""
    table = pd.read_csv(csv, dtype={"artist": str}, encoding="utf-8-sig")
    table.columns = table.columns.str.strip().str.lower()
    needed = ["artist", "n_images", "class_weight"]
    if not set(needed) <= set(table.columns):
        raise ValueError(
            f"artstation: {csv} needs columns {', '.join(needed)}; found {', '.join(table.columns)}"
        )
    table = table[needed].dropna(subset=["artist"])
    return table.assign(artist=table["artist"].str.strip())


def mismatches(table: pd.DataFrame, on_disk: pd.Series) -> list[str]:
    """CSV artists without a folder, folders without a CSV row, image counts that differ."""
    listed = dict(zip(table["artist"], table["n_images"], strict=True))
    messages = [
        f"{WEIGHTS_CSV} lists {a!r} but there is no such folder" for a in listed if a not in on_disk
    ]
    messages += [
        f"folder {a!r} has no row in {WEIGHTS_CSV}" for a in on_disk.index if a not in listed
    ]
    messages += [
        f"{WEIGHTS_CSV} says {a!r} has {int(n)} images, the folder has {int(on_disk[a])}"
        for a, n in listed.items()
        if a in on_disk and pd.notna(n) and int(n) != int(on_disk[a])
    ]
    return messages


def _looks_like(path: Path) -> bool:
    return any(
        file.suffix.lower() in IMAGE_EXTENSIONS for d in class_folders(path) for file in d.iterdir()
    )
