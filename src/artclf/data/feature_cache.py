"""Stored views of every image for ``model.freeze_mode=cached``: a float16 array
``(views, images, ...)`` in one ``.npy`` file under ``data.cache_dir``, which training
memory-maps and draws one view per image from each time it loads a batch.

Row ``i`` belongs to row ``i`` of the prepared image cache (``artclf.data.images``): every
scanned file, so later runs with other seeds, label schemes or CV folds read the same file.
Its name is a key the caller derives from everything the stored tensors depend on (images,
augmentation, weights), so a change builds a new file and never reads a stale one. It is
built once, under a file lock, into a temporary file renamed into place: a second process
waits for it, and an interrupted build leaves nothing that looks finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from rich.progress import Progress


class FeatureViews:
    """The stored views, opened lazily (in each process: pickling a memmap would copy it)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._array: np.ndarray | None = None

    @property
    def array(self) -> np.ndarray:
        """``(views, rows, ...)`` float16, memory-mapped read-only."""
        if self._array is None:
            self._array = np.load(self.path, mmap_mode="r")
        return self._array

    @property
    def views(self) -> int:
        return int(self.array.shape[0])

    def draw(self, rows: torch.Tensor) -> torch.Tensor:
        """Float32, channels-last tensors of ``rows``, one view each, drawn from torch's random
        state as augmentation draws (so ``seed_everything`` repeats a run)."""
        views = torch.randint(self.views, (len(rows),))
        batch = torch.from_numpy(self.array[views.numpy(), rows.numpy()]).float()
        return batch.contiguous(memory_format=torch.channels_last) if batch.ndim == 4 else batch

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_array": None}


def _complete(path: Path, views: int, rows: int) -> bool:
    if not path.exists():
        return False
    try:
        shape = np.load(path, mmap_mode="r").shape
    except (OSError, ValueError, EOFError):  # a header numpy cannot read: build it again
        return False
    return tuple(shape[:2]) == (views, rows)


def build_feature_views(
    path: Path, views: int, rows: int, encode: Callable[[int, int, int], torch.Tensor], chunk: int
) -> FeatureViews:
    """The views at ``path``, built on first use: ``encode(view, start, stop)`` gives view
    ``view`` of rows ``start:stop`` as one tensor, stored float16."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(f"{path}.lock"):
        if _complete(path, views, rows):
            return FeatureViews(path)
        temp = path.with_name(f"{path.stem}.tmp-{os.getpid()}.npy")
        array = None
        with Progress() as progress:
            task = progress.add_task(f"caching {views} views of the frozen layers", total=rows)
            for start in range(0, rows, chunk):
                stop = min(start + chunk, rows)
                for view in range(views):
                    values = encode(view, start, stop).to(torch.float16).cpu().numpy()
                    if array is None:
                        shape = (views, rows, *values.shape[1:])
                        array = np.lib.format.open_memmap(temp, "w+", np.float16, shape)
                    array[view, start:stop] = values
                progress.advance(task, stop - start)
        array.flush()
        del array
        os.replace(temp, path)
    return FeatureViews(path)
