"""Whether an evaluation scores images the checkpoint was trained or selected on."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from artclf.data.spec import DataSpec

log = logging.getLogger(__name__)


def _file_key(path: str | Path) -> tuple[str, int] | None:
    """Name and size: cheap, and the same image in another copy of the download matches."""
    try:
        return Path(path).name, Path(path).stat().st_size
    except OSError:
        return None


def _content(path: str | Path) -> str:
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).hexdigest()


def seen_in_training(paths: list[str], stored: Mapping | None) -> dict[str, int]:
    """How many of ``paths`` are images of the checkpoint's train and val splits, rebuilt
    from the data config it stores (``stored``; seeded, so exact); {} when that data is not on
    this machine. Files match by content; only those with a training file's name and size
    are read."""
    if not stored or not Path(str(stored.get("root", ""))).exists():
        return {}
    spec = DataSpec.from_config(stored)
    by_key: dict[tuple[str, int] | None, list[str]] = {}
    for path in paths:
        by_key.setdefault(_file_key(path), []).append(path)
    records = spec.records()  # the seeded split of training, built once for both splits
    content = functools.cache(_content)  # each file read once
    seen = {}
    for split in ("train", "val"):
        trained = records.split(split)["path"]
        candidates = [(p, by_key[k]) for p in trained if (k := _file_key(p)) in by_key]
        seen[split] = sum(content(p) in {content(e) for e in same} for p, same in candidates)
    return seen


def warn_if_seen(seen: dict[str, int], total: int) -> None:
    """One warning, with counts, when scored images were training or validation images."""
    if seen.get("train") or seen.get("val"):
        log.warning(
            "%d of %d evaluated images are training images of this checkpoint (and %d its "
            "validation images): these scores overstate accuracy on new images",
            seen["train"],
            total,
            seen["val"],
        )
