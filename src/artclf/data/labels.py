"""Label schemes: turn one raw label column into sorted, stable class names."""

from __future__ import annotations

from collections import Counter

import pandas as pd

#: Raw label values that mean "no label" in the downloads we read.
UNKNOWN_VALUES = frozenset({"", "unknown", "unknown artist", "unknown genre", "unknown style"})


def is_unknown(value: object) -> bool:
    return pd.isna(value) or str(value).strip().lower() in UNKNOWN_VALUES


def apply_label_scheme(
    records: pd.DataFrame,
    column: str,
    skipped: Counter,
    *,
    top_k: int | None = None,
    min_count: int | None = None,
    drop_unknown: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """Keep the records labelled under ``column``; return them with a ``label`` column and the
    class names in index order (sorted, so the same data always gives the same indices).

    ``top_k`` keeps the K most frequent classes (ties broken by name), ``min_count`` drops
    classes with fewer images; dropped records are counted as ``unlabelled``.
    """
    available = [c for c in records.columns if c not in ("path", "split")]
    if column not in available:
        raise ValueError(
            f"unknown data.labels {column!r} for this dataset; "
            f"valid choices: {', '.join(available)}"
        )
    keep = records[column].notna()
    if drop_unknown:
        keep &= ~records[column].map(is_unknown)
    labelled = records[keep].assign(label=lambda df: df[column].astype(str))

    counts = labelled["label"].value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    kept = [name for name, n in ranked if min_count is None or n >= min_count]
    if top_k is not None:
        kept = kept[:top_k]
    labelled = labelled[labelled["label"].isin(kept)]
    skipped["unlabelled"] += len(records) - len(labelled)
    if labelled.empty:
        raise ValueError(
            f"no images left under data.labels={column!r} (data.top_k={top_k}, "
            f"data.min_count={min_count}); "
            "lower data.min_count or check data.root"
        )
    return labelled.reset_index(drop=True), sorted(kept)


def balanced_class_weights(targets: pd.Series, n_classes: int) -> list[float]:
    """``total / (n_classes * count)`` per class: the weighting of the seed studies."""
    counts = targets.value_counts().reindex(range(n_classes), fill_value=0)
    total = int(counts.sum())
    return [total / (n_classes * int(n)) if n else 0.0 for n in counts]
