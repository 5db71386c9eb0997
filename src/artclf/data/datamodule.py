"""The LightningDataModule: wires a ``DataSpec`` (reader, label scheme, splits), the prepared
cache and augmentation. Instantiated by Hydra from ``conf/data/*.yaml`` with ``augment=cfg.aug``.

An empty test split (a download with only train/val) does not crash: ``has_test`` is False,
so callers can skip testing, and ``test_dataloader``/``predict_dataloader`` fall back to the
validation split with a logged warning for callers that do not check.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from artclf.data.augment import AugmentSpec, BatchTransform
from artclf.data.feature_cache import FeatureViews
from artclf.data.images import build_cache, fingerprint, read_square_rgb
from artclf.data.pipeline import LabelledRecords
from artclf.data.resize import check_resize
from artclf.data.spec import DataSpec
from artclf.data.splits import interleave_classes

#: The data settings a datamodule takes beside source, root and labels: DataSpec's fields.
DATA_OPTIONS = frozenset(f.name for f in fields(DataSpec)) - {"source", "root", "labels"}

log = logging.getLogger(__name__)


Targets = dict[str, torch.Tensor]


class ShuffledOrder(Sampler[int]):
    """The training order: the permutation ``shuffle=True`` draws (the same draw from torch's
    random state, so runs are unchanged), with its seed kept. A run stopped mid-epoch
    (SIGTERM from SLURM or Kubernetes) saves that seed in its checkpoint; resumed, the epoch
    goes on with the very batches it had left, so the result equals an unstopped run's."""

    def __init__(self, size: int, batch_size: int, completed_batches: Callable[[], int]):
        self.size, self.batch_size = size, batch_size
        self.completed_batches = completed_batches
        self.seed: int | None = None
        self.resumed_seed: int | None = None
        self.resumed_rng: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        skip = 0
        if self.resumed_seed is not None:  # the stopped epoch's order, past its done batches
            self.seed, self.resumed_seed = self.resumed_seed, None
            skip = self.completed_batches() * self.batch_size
            if self.resumed_rng is not None:  # creating this iterator drew from it: undo that
                torch.set_rng_state(self.resumed_rng)
                self.resumed_rng = None
        else:
            self.seed = int(torch.empty((), dtype=torch.int64).random_().item())
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        yield from torch.randperm(self.size, generator=generator).tolist()[skip:]


def _already_batched(batch: tuple[torch.Tensor, Targets]) -> tuple[torch.Tensor, Targets]:
    """``collate_fn`` for ``ImageDataset``, whose ``__getitems__`` returns whole batches."""
    return batch


def _first(batch: tuple[torch.Tensor, Targets]) -> tuple[torch.Tensor, Targets]:
    """The one item of a batch of one."""
    images, targets = batch
    return images[0], {task: values[0] for task, values in targets.items()}


class ImageDataset(Dataset):
    """uint8 CHW images and their targets, read from the prepared cache (``rows`` index it) or,
    without one, decoded from ``paths``. The DataLoader asks ``__getitems__`` for a whole
    batch: from the cache that is one read. The cache is opened lazily in each process:
    pickling a memmap would copy it. ``targets`` has one column per task (``tasks``); a batch's
    targets are ``{task: tensor}``, the shape of the network's logits."""

    def __init__(
        self,
        paths: list[str],
        targets: np.ndarray,
        tasks: Sequence[str],
        size: int,
        array_file: Path | None = None,
        rows: np.ndarray | None = None,
        resize: str | None = None,
    ):
        self.paths, self.targets, self.size, self.tasks = paths, targets, size, list(tasks)
        self.resize = resize
        self.array_file, self.rows = array_file, rows
        self._array: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.targets)

    def cached_array(self) -> torch.Tensor:
        """The whole prepared cache, memory-mapped (copy-on-write, so torch may wrap it; nothing
        writes to it)."""
        if self._array is None:
            self._array = torch.from_numpy(np.load(self.array_file, mmap_mode="c"))
        return self._array

    def image(self, index: int) -> np.ndarray:
        """The stored (unaugmented) CHW uint8 image."""
        if self.array_file is None:
            return read_square_rgb(self.paths[index], self.size, self.resize).transpose(2, 0, 1)
        return self.cached_array()[self.rows[index]].numpy()

    def targets_of(self, indices: list[int]) -> Targets:
        targets = torch.from_numpy(np.asarray(self.targets[indices], dtype=np.int64))
        return {task: targets[:, i] for i, task in enumerate(self.tasks)}

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, Targets]:
        if self.array_file is None:
            images = torch.from_numpy(np.stack([self.image(i) for i in indices]))
        else:
            images = self.cached_array()[torch.from_numpy(self.rows[indices])]
        return images, self.targets_of(indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Targets]:
        return _first(self.__getitems__([index]))


class CachedRows(Dataset):
    """The row numbers, in the prepared cache, of a cached ``ImageDataset``'s images, with their
    targets: what CPU training loads. The augmentation pass then reads the pixels straight
    from the memory-mapped cache (``BatchTransform`` with ``rows``) instead of every batch
    being copied out first (``make bench`` measures the difference)."""

    def __init__(self, images: ImageDataset):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, Targets]:
        return torch.from_numpy(self.images.rows[indices]), self.images.targets_of(indices)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Targets]:
        return _first(self.__getitems__([index]))


class ArtDataModule(L.LightningDataModule):
    """Data for one run; see ``conf/data/ai_artbench.yaml`` for what each argument means."""

    def __init__(
        self,
        source: str,
        root: str,
        labels: str | Sequence[str],
        image_size: int,
        batch_size: int = 64,
        num_workers: int = 2,
        cache: bool = True,
        augment: Mapping | None = None,
        **options: Any,
    ):
        """``source``, ``root``, ``labels`` and ``options`` are the ``DataSpec`` (its fields
        are the one list of data settings); the rest is how batches are loaded."""
        super().__init__()
        unknown = sorted(set(options) - DATA_OPTIONS)
        if unknown:
            valid = ", ".join(sorted(DATA_OPTIONS))
            raise ValueError(f"unknown data option {unknown[0]!r}; valid choices: {valid}")
        self.spec = DataSpec.from_config(
            {"source": source, "root": root, "labels": labels, **options}
        )
        resize, cache_dir = self.spec.resize, self.spec.cache_dir
        self.roots, self.labels, self.resize = self.spec.roots, labels, check_resize(resize)
        self.root = self.roots[0]  # whose validation and test splits are used
        self.image_size, self.batch_size, self.num_workers = image_size, batch_size, num_workers
        self.cache, self.cache_dir = cache, cache_dir
        if cache and cache_dir is None:
            raise ValueError("data.cache=true needs data.cache_dir; set it or data.cache=false")
        self.augment = AugmentSpec.from_config(augment)
        self.transform = BatchTransform(self.augment, image_size)
        self.records: LabelledRecords | None = None
        self._resumed: dict[str, Any] = {}
        #: stored outputs of the network's frozen layers that training batches are instead of
        #: pixels (``model.freeze_mode=cached``, set by ``artclf.training.feature_cache``)
        self.train_features: FeatureViews | None = None

    def prepare_data(self) -> None:
        """The source's own preparation (the synthetic set is generated once)."""
        self.spec.prepare()

    def setup(self, stage: str | None = None) -> None:
        """Records, classes and datasets. With the cache on, it is built first (over every
        scanned file, so other label schemes, seeds and ``max_per_class`` values reuse it) and
        its decode results fill the memo that ``label_records`` consults: each file is
        decoded once."""
        if self.records is not None:
            return
        scan = self.spec.scan()
        array_file, rows = None, {}
        scanned = scan.records["path"]
        self.fingerprint = fingerprint(scanned.tolist(), self.image_size)
        if self.cache:
            array_file = build_cache(scanned.tolist(), self.image_size, self.cache_dir, self.resize)
            rows = {path: i for i, path in enumerate(scanned)}
        self.records = self.spec.records(scan)
        self.classes = self.records.classes
        self.tasks: dict[str, list[str]] = self.records.tasks
        self.skipped: Counter = self.records.skipped
        weights = self.records.class_weights
        self.class_weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)
        self.split_sizes = {
            s: int((self.records.records["split"] == s).sum()) for s in ("train", "val", "test")
        }
        self.test_records: pd.DataFrame = self.records.split("test")
        self.datasets = {}
        for split in ("train", "val", "test"):
            table = self.records.targets(split)
            if split != "train":  # a limited run's first batches must cover every class
                table = interleave_classes(table, self.spec.seed, column=next(iter(self.tasks)))
            self.datasets[split] = ImageDataset(
                table["path"].tolist(),
                table[list(self.tasks)].to_numpy(),
                list(self.tasks),
                self.image_size,
                array_file,
                np.array([rows[p] for p in table["path"]], dtype=np.int64) if self.cache else None,
                self.resize,
            )

    def head_arguments(self) -> tuple[dict[str, list[str]], dict[str, list[float]] | None]:
        """``class_names`` and ``class_weights`` as ``ClassificationModule`` takes them, keyed
        by task (the class weights belong to the first task)."""
        if self.class_weights is None:
            return dict(self.tasks), None
        return dict(self.tasks), {next(iter(self.tasks)): self.class_weights.tolist()}

    def _device_type(self) -> str:
        return "cpu" if self.trainer is None else self.trainer.strategy.root_device.type

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        """Decoding files needs worker processes; reading the prepared cache does not. For an
        accelerator, batches of pixels (uint8: a quarter of the bytes of float; pinned for
        CUDA); on the CPU, with the cache, batches of row numbers (``CachedRows``), as for
        training on stored features anywhere."""
        device = self._device_type()
        dataset = self.datasets[split]
        features = split == "train" and self.train_features is not None
        if self.cache and (device == "cpu" or features):
            dataset = CachedRows(dataset)
        workers = 0 if self.cache else self.num_workers
        order = None
        if shuffle:
            order = ShuffledOrder(len(dataset), self.batch_size, self._completed_train_batches)
            order.resumed_seed, order.resumed_rng = (
                self._resumed.get("seed"),
                self._resumed.get("rng"),
            )
            self.train_order, self._resumed = order, {}
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=order,
            num_workers=workers,
            collate_fn=_already_batched,
            persistent_workers=workers > 0,
            pin_memory=device == "cuda",
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def _completed_train_batches(self) -> int:
        """Batches of the current epoch done before the checkpoint it resumed from."""
        return int(self.trainer.fit_loop.epoch_loop.batch_progress.current.completed)

    def state_dict(self) -> dict[str, Any]:
        """Saved in every checkpoint when the epoch is part done: the seed of its training
        order and torch's random state (at an epoch's end the next epoch draws a new order,
        as an unstopped run does)."""
        order = getattr(self, "train_order", None)
        if order is None or self.trainer is None:
            return {}
        if not 0 < self._completed_train_batches() < self.trainer.num_training_batches:
            return {}
        return {"train_order_seed": order.seed, "torch_rng": torch.get_rng_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        seed, rng = state_dict.get("train_order_seed"), state_dict.get("torch_rng")
        self._resumed = {} if seed is None else {"seed": seed, "rng": rng}

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    @property
    def has_test(self) -> bool:
        """Whether there are test images (callers may skip testing when not)."""
        return self.split_sizes["test"] > 0

    def _test_split(self) -> str:
        if self.has_test:
            return "test"
        log.warning("%s has no test images; testing on the validation split instead", self.root)
        return "val"

    def test_dataloader(self) -> DataLoader:
        return self._loader(self._test_split())

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self._test_split())

    def model_input(self, images: torch.Tensor, training: bool) -> torch.Tensor:
        """A loaded batch (pixels, or row numbers of the prepared cache) → the normalised
        float batch the model takes, augmented when ``training``; or, training on stored
        features, those of one view per image."""
        if training and self.train_features is not None:  # row numbers (CachedRows)
            return self.train_features.draw(images.cpu()).to(images.device)
        if images.dtype == torch.int64:  # row numbers (CachedRows)
            return self.transform(self.datasets["train"].cached_array(), training, rows=images)
        return self.transform(images, training)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """On the device: augmentation while training, then float and ImageNet normalisation."""
        images, targets = batch
        training = self.trainer is not None and self.trainer.training
        return self.model_input(images, training), targets
