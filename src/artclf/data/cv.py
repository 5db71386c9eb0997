"""Artwork-grouped K-fold cross-validation over the train+val pool (``data.cv``).

WikiArt holds several files of one work (``monet_water-lilies-1916.jpg``,
``monet_water-lilies-1916-1.jpg``, ...): a random split puts near-copies on both sides and
flatters validation. Here a group is the artist plus the normalised title (years, variant
numbers and bracketed notes dropped), every group lies in exactly one fold, and folds are
stratified by label as far as the groups allow (scikit-learn's ``StratifiedGroupKFold``).
Fold ``k`` is the validation split; the test split is never touched, so a held-out figure
stays beside the CV mean.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import EXTRA

_BRACKETS = re.compile(r"\(.*?\)|\[.*?\]")
_NUMBERS = re.compile(r"(?:[-_ ]\d+)+$")  # trailing "-1916", "-1", "-1916-2"
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def artwork_group(path: str, artist: object = None) -> str:
    """``artist/normalised-title`` of an ArtGAN-style file name ``<artist>_<title>.<ext>``
    (the artist is taken from the name when not given)."""
    stem = unicodedata.normalize("NFC", Path(path).stem).lower()
    name_artist, _, title = stem.partition("_")
    title = _BRACKETS.sub(" ", title or name_artist)
    title = _SEPARATORS.sub("-", title).strip("-")
    title = _NUMBERS.sub("", title) or title
    return f"{artist if isinstance(artist, str) and artist else name_artist}/{title}"


def check_cv(cv: Mapping | None) -> tuple[int, int] | None:
    """``(folds, fold)`` from a ``data.cv`` config, None when CV is off (``folds`` null/0)."""
    if not cv or not cv.get("folds"):
        return None
    folds, fold = int(cv["folds"]), int(cv.get("fold", 0))
    if folds < 2 or not 0 <= fold < folds:
        raise ValueError(
            f"data.cv.folds={folds} data.cv.fold={fold}: need folds >= 2 and 0 <= fold < folds"
        )
    return folds, fold


def fold_of_groups(labels: pd.Series, groups: pd.Series, folds: int, seed: int) -> pd.Series:
    """The fold (0..folds-1) of every row; rows of one group share a fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    if groups.nunique() < folds:
        raise ValueError(
            f"data.cv.folds={folds} but only {groups.nunique()} artwork groups; use fewer folds"
        )
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold = pd.Series(-1, index=labels.index)
    for k, (_, held) in enumerate(splitter.split(labels, labels, groups)):
        fold.iloc[held] = k
    return fold


def artwork_groups(table: pd.DataFrame) -> pd.Series:
    """The artwork group of every row of ``table`` (its ``artist`` column when it has one)."""
    artists = table["artist"] if "artist" in table else pd.Series(None, index=table.index)
    return pd.Series(
        [artwork_group(p, a) for p, a in zip(table["path"], artists, strict=True)],
        index=table.index,
    )


def extra_as_training(records: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Rows of the extra folders (``EXTRA``, ``data.root=[A,B]``) become training rows,
    except those of an artwork that is in validation or test: a copy of a held-out work on the
    training side would flatter the score. Returns the records and how many were dropped."""
    extra = records["split"] == EXTRA
    if not extra.any():
        return records, 0
    groups = artwork_groups(records)
    held_out = set(groups[records["split"].isin(["val", "test"])])
    leak = extra & groups.isin(held_out)
    records = records[~leak].copy()
    records.loc[records["split"] == EXTRA, "split"] = "train"
    return records.reset_index(drop=True), int(leak.sum())


def apply_cv(records: pd.DataFrame, folds: int, fold: int, seed: int) -> pd.DataFrame:
    """``records`` with the train+val pool re-split: fold ``fold`` is val, the rest train
    (rows of extra folders stay out of the pool: they are never validation images)."""
    pool = records["split"].isin(["train", "val"])
    table = records[pool]
    groups = artwork_groups(table)
    assigned = fold_of_groups(table["label"], groups, folds, seed)
    records = records.copy()
    records.loc[pool, "split"] = assigned.map(lambda k: "val" if k == fold else "train")
    return records
