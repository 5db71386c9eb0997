"""ArtStation portfolios: ``<root>/<artist_slug>/*.{jpg,jpeg,png,webp,gif}`` and an optional
``class_weights.csv`` (``artist,n_images,class_weight``).

The CSV's weights are used when it is there and every weight is a number; otherwise the
pipeline computes ``total / (n_classes * count)``. The pipeline also warns where the CSV and
the folders disagree (they usually mean a partial download), counting readable images only.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from artclf.data.sources.base import Listing, Scan
from artclf.data.sources.files import (
    IMAGE_EXTENSIONS,
    class_folders,
    count_loose_files,
    layout_error,
    list_folder,
    list_images,
    require_dir,
)
from artclf.data.sources.names import nfc

WEIGHTS_CSV = "class_weights.csv"
EXPECTED = (
    "ArtStation portfolios: <root>/<artist>/*.jpg|png|webp|gif (+ optional class_weights.csv)"
)

log = logging.getLogger(__name__)


def scan(root: str | Path, layout: str = "auto", cache_dir: str | Path | None = None) -> Scan:
    """Records (``path``, ``split`` = "", ``artist`` = folder name), the CSV's weights and the
    image counts it claims. ``cache_dir`` is unused: nothing is derived from the files."""
    path = require_dir(root, "artstation", EXPECTED)
    if layout != "auto":
        raise ValueError(f"unknown data.layout {layout!r} for artstation; valid choices: auto")
    skipped: Counter = Counter()
    count_loose_files(path, skipped, frozenset({WEIGHTS_CSV}))
    rows = [
        (str(file), "", folder.name)
        for folder in class_folders(path)
        for file in list_images(folder, skipped)
    ]
    if not rows:
        raise layout_error("artstation", path, EXPECTED, _looks_like)
    records = pd.DataFrame(rows, columns=["path", "split", "artist"])
    csv = path / WEIGHTS_CSV
    if not csv.is_file():
        return Scan(records, skipped)
    table = read_weights(csv)
    weights = number_column(table, "class_weight", csv, "computed weights are used instead")
    counts = number_column(table, "n_images", csv, "its image count is not checked")
    artists = table["artist"]
    claimed = {a: None if pd.isna(n) else int(n) for a, n in zip(artists, counts, strict=True)}
    shipped = None if weights.isna().any() else dict(zip(artists, weights, strict=True))
    listing = Listing(WEIGHTS_CSV, "artist", claimed)
    return Scan(records, skipped, class_weights=shipped, listing=listing)


def read_weights(csv: Path) -> pd.DataFrame:
    """``artist, n_images, class_weight`` rows of ``class_weights.csv`` as text, indexed by
    line number; a repeated artist is warned about and its first row kept."""
    table = pd.read_csv(
        csv, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig"
    )
    table.columns = table.columns.str.strip().str.lower()
    needed = ["artist", "n_images", "class_weight"]
    if not set(needed) <= set(table.columns):
        raise ValueError(
            f"artstation: {csv} needs columns {', '.join(needed)}; found {', '.join(table.columns)}"
        )
    table = table[needed].apply(lambda column: column.str.strip())
    table.index = table.index + 2  # the header is line 1
    table = table[table["artist"] != ""]
    repeated = table["artist"].map(nfc).duplicated()
    for line, artist in table.loc[repeated, "artist"].items():
        log.warning("artstation: %s line %d repeats %r; its first row is used", csv, line, artist)
    return table[~repeated]


def number_column(table: pd.DataFrame, column: str, csv: Path, consequence: str) -> pd.Series:
    """``column`` as floats; a value that is not a number >= 0 (blank, ``n/a``) is warned
    about and becomes NaN, which must never reach the loss or the JSON report."""
    values = pd.to_numeric(table[column], errors="coerce")
    values = values.where(np.isfinite(values) & (values >= 0))
    for line in values.index[values.isna()]:
        log.warning(
            "artstation: %s line %d (%r): %s %r is not a number >= 0; %s",
            csv,
            line,
            table.at[line, "artist"],
            column,
            table.at[line, column],
            consequence,
        )
    return values


def _looks_like(path: Path) -> bool:
    return any(
        file.suffix.lower() in IMAGE_EXTENSIONS
        for folder in class_folders(path)
        for file in list_folder(folder)
    )
