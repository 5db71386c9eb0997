"""Input-pipeline throughput: our cache + per-sample augmentation against the plain
``ImageFolder`` + PIL + ``transforms.v2`` baseline on the same files, in the same run (the
machine is shared and noisy, so only ratios measured together mean anything)."""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import v2

from artclf.data.augment import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentSpec,
    GeometricAugment,
    batch_to_model_input,
)
from artclf.data.datamodule import ImageDataset
from artclf.data.images import build_cache


def torchvision_transforms(spec: AugmentSpec, size: int) -> v2.Compose:
    """The ``transforms.v2`` pipeline equivalent to ``spec`` plus our resize and normalisation."""
    steps = [v2.Resize(size), v2.CenterCrop(size)]
    if spec.resized_crop is not None:
        steps.append(v2.RandomResizedCrop(size, scale=spec.resized_crop))
    steps += [v2.RandomHorizontalFlip(spec.hflip), v2.RandomVerticalFlip(spec.vflip)]
    if spec.rotation:
        steps.append(v2.RandomRotation(spec.rotation))
    if spec.color_jitter is not None:
        steps.append(v2.ColorJitter(*spec.color_jitter))
    steps += [
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(IMAGENET_MEAN, IMAGENET_STD),
    ]
    return v2.Compose(steps)


def _rate(batches: Iterable, seconds: float, finish=lambda batch: batch) -> float:
    """Images per second over ``seconds``, after a first batch that absorbs worker start-up."""
    count, start = 0, None
    while start is None or time.perf_counter() - start < seconds:
        for batch in batches:
            images = finish(batch)[0]
            if start is None:
                start = time.perf_counter()
                continue
            count += len(images)
            if time.perf_counter() - start >= seconds:
                break
    return count / (time.perf_counter() - start)


def measure_input_pipeline(
    root: str | Path,
    image_size: int,
    aug: Mapping | AugmentSpec | None,
    seconds: float = 5.0,
    *,
    batch_size: int = 64,
    num_workers: int = 2,
    cache_dir: str | Path | None = None,
) -> dict:
    """Images/s of (a) our path (prepared cache, per-sample augmentation in workers,
    normalisation per batch), (b) ``ImageFolder`` + PIL + ``transforms.v2`` and (c) random
    batch reads from the prepared array (the ceiling), on the class folders under ``root``.

    The main process runs one torch thread while measuring: our normalisation runs there, and
    with busy workers on every core, a second OpenMP thread only spins (3× slower at 32²).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _measure(root, image_size, aug, seconds, batch_size, num_workers, cache_dir)
    finally:
        torch.set_num_threads(threads)


def _measure(root, image_size, aug, seconds, batch_size, num_workers, cache_dir) -> dict:
    spec = aug if isinstance(aug, AugmentSpec) else AugmentSpec.from_config(aug)
    folder = datasets.ImageFolder(str(root), transform=torchvision_transforms(spec, image_size))
    paths = [path for path, _ in folder.samples]
    targets = np.array(folder.targets)
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        array_file = build_cache(paths, image_size, cache_dir or scratch)
        cache_build_s = time.perf_counter() - started
        ours = ImageDataset(
            paths,
            targets,
            image_size,
            array_file,
            np.arange(len(paths)),
            GeometricAugment(spec, image_size) if spec.geometric else None,
        )
        loader_options = {
            "batch_size": batch_size,
            "shuffle": True,
            "num_workers": num_workers,
            "persistent_workers": num_workers > 0,
        }
        ours_rate = _rate(
            DataLoader(ours, **loader_options),
            seconds,
            lambda batch: (batch_to_model_input(batch[0], spec, training=True), batch[1]),
        )
        baseline_rate = _rate(DataLoader(folder, **loader_options), seconds)
        array = np.load(array_file, mmap_mode="r")
        rng = np.random.default_rng(0)
        reads = (
            (torch.from_numpy(array[np.sort(rng.choice(len(array), batch_size))]),)
            for _ in itertools.count()
        )
        ceiling_rate = _rate(reads, seconds)
    return {
        "images": len(paths),
        "image_size": image_size,
        "batch_size": batch_size,
        "num_workers": num_workers,
        "cache_build_s": round(cache_build_s, 2),
        "ours_img_s": round(ours_rate),
        "imagefolder_img_s": round(baseline_rate),
        "memmap_ceiling_img_s": round(ceiling_rate),
        "speedup": round(ours_rate / baseline_rate, 1),
    }
