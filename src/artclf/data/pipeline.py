"""From a dataset root to labelled, split, validated records: the path every consumer shares
through ``DataSpec.records`` (the datamodule, ``describe``, ``evaluate``, the app)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from artclf.data.cv import apply_cv, check_cv, extra_as_training
from artclf.data.feedback import drop_held_out_copies
from artclf.data.images import find_unreadable
from artclf.data.labels import apply_label_scheme, balanced_class_weights
from artclf.data.sources import Scan, get_scanner
from artclf.data.splits import assign_splits

log = logging.getLogger(__name__)


@dataclass
class LabelledRecords:
    """``records`` has columns ``path``, ``split``, ``label`` (class name), ``target`` (index)
    and the raw label columns; ``classes[target] == label``. ``tasks`` maps each label column
    (one per task; a single task is a mapping of one) to its classes; the first task is
    ``label``/``target``, the others are indexed in ``target_<column>``."""

    records: pd.DataFrame
    tasks: dict[str, list[str]]
    skipped: Counter
    class_weights: list[float] | None = None

    @property
    def classes(self) -> list[str]:
        """The first task's classes."""
        return next(iter(self.tasks.values()))

    def target_columns(self) -> list[str]:
        """The index column of each task: ``target``, then ``target_<column>``."""
        return ["target"] + [f"target_{task}" for task in list(self.tasks)[1:]]

    def targets(self, split: str) -> pd.DataFrame:
        """``path`` and one column of class indices per task (named by the task)."""
        table = self.split(split)
        columns = dict(zip(self.tasks, self.target_columns(), strict=True))
        return pd.DataFrame({"path": table["path"], **{t: table[c] for t, c in columns.items()}})

    def split(self, name: str) -> pd.DataFrame:
        return self.records[self.records["split"] == name].reset_index(drop=True)

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class per split, classes in index order."""
        table = self.records.groupby(["split", "label"]).size()
        return {
            split: {cls: int(table.get((split, cls), 0)) for cls in self.classes}
            for split in ("train", "val", "test")
        }


def check_limits(**limits: int | None) -> None:
    """Each of ``top_k``, ``max_per_class`` (at least 1) and ``min_count`` (at least 0) is a
    count or null (no limit); anything else would silently empty or shrink the classes."""
    for name, value in limits.items():
        lowest = 0 if name == "min_count" else 1
        if value is not None and (isinstance(value, bool) or int(value) != value or value < lowest):
            raise ValueError(
                f"data.{name}={value!r}; it must be a whole number >= {lowest}, "
                "or null for no limit"
            )


def label_records(
    source: str,
    root: str | Path,
    *,
    labels: str | Sequence[str],
    layout: str = "auto",
    top_k: int | None = None,
    min_count: int | None = None,
    drop_unknown: bool = True,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    max_per_class: int | None = None,
    class_weights: bool = False,
    seed: int = 42,
    cache_dir: str | Path | None = None,
    scan: Scan | None = None,
    cv: Mapping | None = None,
) -> LabelledRecords:
    """Scan ``root`` with the ``source`` reader (or take the ``scan`` a caller already made),
    drop undecodable images, apply the label scheme and assign splits. Every step is
    deterministic for a seed.

    ``labels`` may list several columns (one task each): the first gets ``top_k``,
    ``min_count``, the stratified split and the class weights; records without a known
    value in every other column are dropped (counted as ``unlabelled``). ``cv``
    (``{folds, fold}``) re-splits train+val into artwork-grouped folds (``artclf.data.cv``)."""
    columns = [labels] if isinstance(labels, str) else [str(c) for c in labels]
    labels = columns[0]
    check_limits(top_k=top_k, max_per_class=max_per_class, min_count=min_count)
    if scan is None:
        scan = get_scanner(source)(root, layout=layout, cache_dir=cache_dir)
    skipped = scan.skipped_for(columns)
    bad = find_unreadable(scan.records["path"].tolist(), cache_dir=cache_dir)
    for reason in bad.values():
        skipped[reason] += 1
    for message in listing_mismatches(scan, set(bad)):
        log.warning("%s: %s", source, message)
    records = scan.records_for(labels)
    records = records[~records["path"].isin(bad.keys())]

    records, classes = apply_label_scheme(
        records, labels, skipped, top_k=top_k, min_count=min_count, drop_unknown=drop_unknown
    )
    tasks = {labels: classes}
    for column in columns[1:]:
        labelled, tasks[column] = apply_label_scheme(
            records.drop(columns="label"), column, skipped, drop_unknown=drop_unknown
        )
        records = records[records["path"].isin(labelled["path"])].reset_index(drop=True)
    records = assign_splits(
        records,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        max_per_class=max_per_class,
    )
    folds = check_cv(cv)
    if folds is not None:
        records = apply_cv(records, *folds, seed=seed)
    records, leaks = extra_as_training(records)
    records, copies = drop_held_out_copies(records, scan.content)
    if leaks + copies:
        skipped["held_out_artwork"] += leaks + copies
    index = {name: i for i, name in enumerate(classes)}
    records["target"] = records["label"].map(index).astype("int64")
    for column in columns[1:]:
        index = {name: i for i, name in enumerate(tasks[column])}
        records[f"target_{column}"] = records[column].astype(str).map(index).astype("int64")

    weights = None
    if class_weights:
        shipped = scan.class_weights
        if shipped and all(c in shipped for c in classes):
            weights = [float(shipped[c]) for c in classes]
        else:  # over every image of the class, as the seed studies weighted them
            weights = balanced_class_weights(records["target"], len(classes))
    return LabelledRecords(records, tasks, skipped, weights)


def listing_mismatches(scan: Scan, bad: set[str]) -> list[str]:
    """Where the download's own list of classes and image counts (``scan.listing``) and the
    folders disagree (usually a partial download). Counts are of readable images: only
    decoding tells a truncated file from an image."""
    if scan.listing is None:
        return []
    file, claimed = scan.listing.file, scan.listing.counts
    labels = scan.records[scan.listing.column]
    unreadable = scan.records["path"].isin(bad)
    readable, failed = labels[~unreadable].value_counts(), labels[unreadable].value_counts()
    present = set(labels)
    messages = [
        f"{file} lists {c!r} but there is no such folder" for c in claimed if c not in present
    ]
    messages += [f"folder {c!r} has no row in {file}" for c in sorted(present - set(claimed))]
    for name, n in claimed.items():
        found = int(readable.get(name, 0))
        if n is not None and name in present and n != found:
            extra = f" readable (+{failed[name]} unreadable)" if name in failed else ""
            messages.append(f"{file} says {name!r} has {n} images, the folder has {found}{extra}")
    return messages
