"""Seeded, stratified train/val/test assignment that never resamples an official test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from artclf.data.sources.base import EXTRA

SPLITS = ("train", "val", "test")


def _cut(index: pd.Index, n_cut: int, rng: np.random.Generator) -> tuple[pd.Index, pd.Index]:
    """Split ``index`` at random into (rest, cut) with ``n_cut`` items in the cut."""
    order = rng.permutation(len(index))
    return index[order[n_cut:]], index[order[:n_cut]]


def assign_splits(
    records: pd.DataFrame,
    *,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    max_per_class: int | None = None,
) -> pd.DataFrame:
    """Fill the ``split`` column per class (``label``), deterministically for a seed.

    - rows with an official ``test`` (or ``val``) split keep it;
    - rows without a split are cut into train/val/test by the two fractions;
    - when the download has no ``val`` split, ``val_fraction`` of train becomes val;
    - ``max_per_class`` caps train (sampled with the seed) before validation is cut from it,
      as the seed study balanced its classes;
    - rows of an extra folder (``EXTRA``, ``data.root=[A,B]``) stay as they are: the caller
      makes them training images after cross-validation, which must not hold them out.
    """
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1:
        raise ValueError("data.val_fraction and data.test_fraction must be in [0, 1)")
    records = records.sort_values("path", kind="stable").reset_index(drop=True)
    has_val = (records["split"] == "val").any()
    split = records["split"].copy()
    rng = np.random.default_rng(seed)
    for _, group in records.groupby("label", sort=True):
        unsplit = group.index[group["split"] == ""]
        rest, test = _cut(unsplit, round(len(unsplit) * test_fraction), rng)
        split[test] = "test"
        pool = group.index[group["split"] == "train"].append(rest)
        if max_per_class is not None and len(pool) > max_per_class:
            pool, dropped = _cut(pool, len(pool) - max_per_class, rng)
            split[dropped] = "unused"
        if has_val:
            split[pool] = "train"
            continue
        train, val = _cut(pool, round(len(pool) * val_fraction), rng)
        split[train] = "train"
        split[val] = "val"
    records["split"] = split
    return records[records["split"].isin([*SPLITS, EXTRA])].reset_index(drop=True)


def interleave_classes(table: pd.DataFrame, seed: int, column: str = "label") -> pd.DataFrame:
    """The rows in rounds: one image of every class (in a seeded random order), then the next
    of each, and so on, so that any prefix samples every class. What ``limit_val_batches``
    and ``limit_test_batches`` read is a prefix: class-sorted, it covered a few classes."""
    shuffled = table.iloc[np.random.default_rng(seed).permutation(len(table))]
    position = shuffled.groupby(column, sort=False).cumcount().to_numpy()
    size = shuffled.groupby(column, sort=False)[column].transform("size").to_numpy()
    return shuffled.iloc[np.argsort(position / size, kind="stable")].reset_index(drop=True)
