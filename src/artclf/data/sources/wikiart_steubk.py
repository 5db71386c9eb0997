"""The Kaggle steubk/wikiart copy: style folders plus ``classes.csv`` (named artist, genre
list, ``subset``) or, failing that, ``wclasses.csv`` (``file, artist, genre, style``)."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import Scan
from artclf.data.sources.wikiart_folders import STEUBK_CSVS, FileIndex, style_folder_records

#: ``subset`` values and the split they mean; others (e.g. "uncertain artist") get none.
SUBSETS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


def scan_steubk(base: Path) -> Scan:
    """Every image in the style folders (style = folder); artist, genre and split from the CSV
    row naming it. CSV rows without a file count as ``missing``."""
    skipped: Counter = Counter()
    records = style_folder_records(base, skipped, frozenset(STEUBK_CSVS))
    records["artist"] = None
    records["genre"] = None
    table = _read_table(base)
    index = FileIndex(base, records)
    rows = index.rows_of(table["path"])
    table = table[(rows >= 0).to_numpy()].assign(row=rows[rows >= 0].to_numpy())
    table = table.drop_duplicates("row").set_index("row")
    for column in ("artist", "genre", "split"):
        records.loc[table.index, column] = table[column]
    skipped["missing"] += len(index.missing)
    return Scan(records, skipped)


def _read_table(base: Path) -> pd.DataFrame:
    """``path, artist, genre, split`` from whichever CSV the download has."""
    name = "classes.csv" if (base / "classes.csv").is_file() else "wclasses.csv"
    raw = pd.read_csv(base / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = raw.columns.str.strip().str.lower()
    path_column = "filename" if "filename" in raw.columns else "file"
    if path_column not in raw.columns:
        raise ValueError(
            f"wikiart (steubk): {base / name} has no 'filename' or 'file' column; "
            f"found {', '.join(raw.columns)}"
        )
    empty = pd.Series("", index=raw.index)
    subset = raw.get("subset", empty).str.strip().str.lower()
    return pd.DataFrame(
        {
            "path": raw[path_column],
            "artist": raw.get("artist", empty).str.strip(),
            "genre": raw.get("genre", empty).map(first_genre),
            "split": subset.map(SUBSETS).fillna(""),
        }
    )


def first_genre(value: str) -> str:
    """``"['landscape', 'portrait']"`` -> ``"landscape"``: the genre the image is filed under."""
    text = value.strip()
    if text.startswith("["):
        try:
            items = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            items = text.strip("[]").replace("'", "").split(",")
        text = str(items[0]).strip() if len(items) else ""
    return text
