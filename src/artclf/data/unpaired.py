"""Two unrelated folders of images (domain A, e.g. photos; domain B, e.g. Monet) for CycleGAN.

The domains are unpaired: a training item is the i-th image of A with a random image of B.
A seeded fraction of each folder is held out; it feeds the per-epoch sample grids, the
validation cycle loss and FID/KID.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from artclf.data.images import find_unreadable, open_rgb
from artclf.data.sources.base import DatasetLayoutError
from artclf.data.sources.files import list_images, require_dir

log = logging.getLogger(__name__)


def scan_domain(
    folder: str | Path | Sequence[str | Path] | None, key: str, cache_dir: str | Path | None
) -> list[str]:
    """Sorted decodable images directly inside ``folder`` (or each of a list of folders, e.g.
    several style folders of one dataset); one clear error when there are none."""
    if not folder:
        raise DatasetLayoutError(f"unpaired: set data.{key}=FOLDER (a folder of images)")
    folders = [folder] if isinstance(folder, str | Path) else list(folder)
    skipped: Counter = Counter()
    paths = []
    for item in folders:
        root = require_dir(item, "unpaired", f"a folder of images for data.{key}")
        paths += [str(p) for p in list_images(root, skipped)]
    paths.sort()
    bad = find_unreadable(paths, cache_dir)
    skipped.update(bad.values())
    paths = [p for p in paths if p not in bad]
    if len(paths) < 2:
        raise DatasetLayoutError(
            f"unpaired: data.{key}={str(root)!r} holds {len(paths)} readable images; "
            "need at least 2 (one to train on, one held out)"
        )
    if skipped:
        log.info("unpaired %s: skipped %s", key, dict(skipped))
    return paths


def split(paths: list[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded train/held-out cut; at least one image on each side."""
    shuffled = random.Random(seed).sample(paths, len(paths))
    n_val = min(len(paths) - 1, max(1, round(val_fraction * len(paths))))
    return sorted(shuffled[n_val:]), sorted(shuffled[:n_val])


class UnpairedImages(Dataset):
    """``(a, b)`` image pairs in [-1, 1]; B is drawn at random for training, by index otherwise."""

    def __init__(self, a: list[str], b: list[str], transform: v2.Transform, shuffle_b: bool):
        self.a, self.b, self.transform, self.shuffle_b = a, b, transform, shuffle_b

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def _load(self, path: str) -> Tensor:
        return self.transform(open_rgb(path))

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        if self.shuffle_b:
            b_index = int(torch.randint(len(self.b), ()))
        else:  # half a turn: held-out pairs differ even when A and B are the same folders
            b_index = (index + len(self.b) // 2) % len(self.b)
        return self._load(self.a[index % len(self.a)]), self._load(self.b[b_index])


def _transform(image_size: int, load_size: int, train: bool) -> v2.Transform:
    to_unit = [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.5] * 3, [0.5] * 3),
    ]
    if train:  # the CycleGAN recipe: resize up, random crop, horizontal flip
        geometry = [v2.Resize(load_size), v2.RandomCrop(image_size), v2.RandomHorizontalFlip()]
    else:
        geometry = [v2.Resize(image_size), v2.CenterCrop(image_size)]
    return v2.Compose([*geometry, *to_unit])


class UnpairedDataModule(L.LightningDataModule):
    """Train and held-out loaders over two image folders."""

    def __init__(
        self,
        domain_a: str | Sequence[str] | None,
        domain_b: str | Sequence[str] | None,
        image_size: int = 256,
        load_size: int = 286,
        val_fraction: float = 0.1,
        batch_size: int = 1,
        num_workers: int = 0,
        seed: int = 0,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__()
        self.domain_a, self.domain_b = domain_a, domain_b
        self.image_size, self.load_size = image_size, max(load_size, image_size)
        self.val_fraction, self.seed = val_fraction, seed
        self.batch_size, self.num_workers = batch_size, num_workers
        self.cache_dir = cache_dir
        self.train_set: UnpairedImages | None = None
        self.val_set: UnpairedImages | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:
            return
        a_train, a_val = split(
            scan_domain(self.domain_a, "domain_a", self.cache_dir), self.val_fraction, self.seed
        )
        b_train, b_val = split(
            scan_domain(self.domain_b, "domain_b", self.cache_dir), self.val_fraction, self.seed
        )
        train_tf = _transform(self.image_size, self.load_size, train=True)
        eval_tf = _transform(self.image_size, self.load_size, train=False)
        self.train_set = UnpairedImages(a_train, b_train, train_tf, shuffle_b=True)
        self.val_set = UnpairedImages(a_val, b_val, eval_tf, shuffle_b=False)

    def _loader(self, dataset: Dataset, shuffle: bool) -> DataLoader:
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, shuffle=False)
