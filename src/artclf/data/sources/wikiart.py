"""WikiArt, in whichever of its three download forms is on disk.

- ``artgan``: the ArtGAN release, ``wikiart/<Style>/<artist>_<title>.jpg``, optionally with
  the ``Style/ Genre/ Artist/`` train/val files (used when present);
- ``steubk``: the Kaggle copy, style folders plus ``classes.csv`` / ``wclasses.csv``;
- ``hf``: local parquet files of the Hugging Face ``huggan/wikiart`` dataset.

All three forms name the 27 styles alike, as ``style_class.txt`` and huggan/wikiart do: the
folder ``Art_Nouveau_Modern`` holds the style ``Art_Nouveau``. Where a scheme's class file
(``style_class.txt``, ``artist_class``, ...) is on disk, its names are the class names.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import Scan
from artclf.data.sources.files import (
    IMAGE_EXTENSIONS,
    class_folders,
    layout_error,
    list_folder,
    require_dir,
)
from artclf.data.sources.wikiart_csv import find_split_file, read_class_names, read_split_file
from artclf.data.sources.wikiart_folders import (
    SPLIT_FOLDERS,
    STEUBK_CSVS,
    FileIndex,
    style_folder_records,
)
from artclf.data.sources.wikiart_hf import hub_snapshot, parquet_files, scan_parquet
from artclf.data.sources.wikiart_steubk import scan_steubk

LAYOUTS = ("auto", "artgan", "steubk", "hf")
EXPECTED = (
    "a WikiArt download: wikiart/<Style>/<artist>_<title>.jpg (ArtGAN, optionally with "
    "Style/ Genre/ Artist/ split files), style folders with classes.csv (Kaggle steubk), "
    "or *.parquet files (Hugging Face huggan/wikiart)"
)


def scan(root: str | Path, layout: str = "auto", cache_dir: str | Path | None = None) -> Scan:
    """Records of a WikiArt root in the form ``layout`` (``auto`` picks it from the disk);
    parquet images are extracted under ``cache_dir``."""
    path = require_dir(root, "wikiart", EXPECTED)
    if layout not in LAYOUTS:
        raise ValueError(f"unknown data.layout {layout!r} for wikiart; valid choices: {LAYOUTS}")
    if layout == "auto":
        layout = detect_layout(path)
    if layout == "hf":
        if not parquet_files(path, deep=True):
            raise layout_error(
                "wikiart (hf)", path, "*.parquet files of huggan/wikiart", _has_parquet
            )
        return scan_parquet(path, cache_dir)
    base = steubk_base(path) if layout == "steubk" else artgan_images(path)
    if base is None:
        raise layout_error(f"wikiart ({layout})", path, EXPECTED, _looks_like_wikiart)
    if layout == "steubk":
        return scan_steubk(base)
    return scan_artgan(path, base)


def detect_layout(root: Path) -> str:
    """``hf``, ``steubk`` or ``artgan`` from what is on disk."""
    if parquet_files(root) or hub_snapshot(root) is not None:
        return "hf"
    if steubk_base(root) is not None:
        return "steubk"
    if artgan_images(root) is not None:
        return "artgan"
    raise layout_error("wikiart", root, EXPECTED, _looks_like_wikiart)


def steubk_base(root: Path) -> Path | None:
    """The folder holding ``classes.csv``/``wclasses.csv``: ``root`` or ``root/wikiart``."""
    for base in (root, root / "wikiart"):
        if any((base / name).is_file() for name in STEUBK_CSVS):
            return base
    return None


def artgan_images(root: Path) -> Path | None:
    """The folder of style folders: ``root/wikiart`` (the download) or ``root`` itself."""
    for base in (root / "wikiart", root):
        if base.is_dir() and any(_has_images(f) for f in class_folders(base, SPLIT_FOLDERS)):
            return base
    return None


def _has_images(folder: Path) -> bool:
    return any(p.suffix.lower() in IMAGE_EXTENSIONS for p in list_folder(folder))


def _has_parquet(path: Path) -> bool:
    return bool(parquet_files(path)) or hub_snapshot(path) is not None


def _looks_like_wikiart(path: Path) -> bool:
    return path.is_dir() and (
        _has_parquet(path) or steubk_base(path) is not None or artgan_images(path) is not None
    )


def split_file_folders(root: Path, images: Path) -> list[Path]:
    """Where ArtGAN's split files may be: next to the style folders' parent or inside it, or
    one folder down from the root (``Style/``, ``wikiart_csv/``, ...)."""
    below = [] if root == images else [d for d in class_folders(root) if d != images]
    return [root, images.parent, images, *below, images.parent / "wikiart_csv"]


def scan_artgan(root: Path, images: Path) -> Scan:
    """Style folders; with ArtGAN's split files, each label scheme keeps its own train/val
    split, only the images its files list (genre exists only there) and, where its class file
    is there, that file's names (``Albrecht_Durer``, not the file-name slug)."""
    skipped: Counter = Counter()
    found = {
        scheme: {
            part: find_split_file(scheme, part, split_file_folders(root, images))
            for part in ("train", "val", "class")
        }
        for scheme in ("style", "genre", "artist")
    }
    beside = frozenset(
        p.name for f in found.values() for p in f.values() if p and p.parent == images
    )
    records = style_folder_records(images, skipped, beside)
    index = FileIndex(images, records)
    splits: dict[str, pd.Series] = {}
    missing: dict[str, Counter] = {}
    for scheme, parts in found.items():
        if parts["train"] is None and parts["val"] is None:
            continue
        index.missing = set()
        names = read_class_names(parts["class"]) if parts["class"] else {}
        split = pd.Series("", index=records.index)
        idx = pd.Series(None, index=records.index, dtype=object)
        for part in ("train", "val"):
            if parts[part] is None:
                continue
            table = read_split_file(parts[part])
            rows = index.rows_of(table["path"])
            table = table[(rows >= 0).to_numpy()].assign(row=rows[rows >= 0].to_numpy())
            table = table[split[table["row"]].to_numpy() == ""].drop_duplicates("row")
            split[table["row"]] = part
            idx[table["row"]] = table["idx"].to_numpy()
        # The class file's name; without one, the folder's style, the file's artist or the index.
        records[scheme] = idx.map(names).fillna(records.get(scheme, idx)).where(split != "")
        splits[scheme] = split
        missing[scheme] = Counter(missing=len(index.missing))
    return Scan(records, skipped, split_by_label=splits, skipped_by_label=missing)
