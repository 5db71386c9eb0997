"""Best Artworks of All Time (Kaggle ikarus777): ``artists.csv`` plus the images, either
``images/images/<Artist_Name>/<Artist_Name>_<n>.jpg`` or flat ``resized/resized/``.

The artist label is the name ``artists.csv`` gives (``Albrecht Dürer``), matched by an
ASCII-folded key, because the folder names arrive in several byte spellings. Dürer's folder
may exist twice with the same images, so files are deduplicated by content hash. Images of
an artist ``artists.csv`` does not list count as ``unlabelled``: the CSV defines the classes.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import Scan
from artclf.data.sources.files import (
    class_folders,
    count_loose_files,
    layout_error,
    list_images,
    require_dir,
)
from artclf.data.sources.names import ascii_key

LAYOUTS = ("auto", "images", "resized")
EXPECTED = (
    "the Best Artworks download: artists.csv with images/images/<Artist_Name>/*.jpg "
    "or resized/resized/<Artist_Name>_<n>.jpg"
)

log = logging.getLogger(__name__)


def scan(root: str | Path, layout: str = "auto", cache_dir: str | Path | None = None) -> Scan:
    """Records (``path``, ``split`` = "", ``artist``) of the chosen image form (``cache_dir``
    is unused: nothing is derived from the files)."""
    path = require_dir(root, "best_artworks", EXPECTED)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown data.layout {layout!r} for best_artworks; valid: {LAYOUTS}")
    if not (path / "artists.csv").is_file():
        raise layout_error("best_artworks", path, EXPECTED, _looks_like)
    names = artist_names(path / "artists.csv")
    folder = _image_folder(path, layout)
    skipped: Counter = Counter()
    if folder.name == "resized":
        files = list_images(folder, skipped)
        owners = [file.stem.rsplit("_", 1)[0] for file in files]
    else:
        count_loose_files(folder, skipped)
        pairs = [(f, d.name) for d in class_folders(folder) for f in list_images(d, skipped)]
        files, owners = [f for f, _ in pairs], [o for _, o in pairs]
    rows, seen, unknown = [], set(), set()
    for file, owner in zip(files, owners, strict=True):
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        if digest in seen:
            skipped["duplicate"] += 1
            continue
        seen.add(digest)
        artist = names.get(ascii_key(owner))
        if artist is None:
            unknown.add(owner)
            skipped["unlabelled"] += 1
            continue
        rows.append((str(file), "", artist))
    if unknown:
        log.warning(
            "best_artworks: images of %s are not in artists.csv (counted as unlabelled)",
            ", ".join(sorted(unknown)),
        )
    return Scan(pd.DataFrame(rows, columns=["path", "split", "artist"]), skipped)


def artist_names(csv: Path) -> dict[str, str]:
    """``ascii_key(name)`` -> the CSV's name (bio fields hold commas, quotes and Cyrillic)."""
    table = pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "name" not in table.columns:
        raise ValueError(f"best_artworks: {csv} has no 'name' column; found {list(table.columns)}")
    names = table["name"].str.strip()
    return {ascii_key(name): name for name in names if name}


def _image_folder(root: Path, layout: str) -> Path:
    """``images/images`` (preferred by ``auto``) or ``resized/resized``; one level also works."""
    wanted = ("images", "resized") if layout == "auto" else (layout,)
    for name in wanted:
        for folder in (root / name / name, root / name):
            if folder.is_dir() and any(folder.iterdir()):
                return folder
    raise layout_error(f"best_artworks ({layout})", root, EXPECTED, _looks_like)


def _looks_like(path: Path) -> bool:
    return (path / "artists.csv").is_file()
