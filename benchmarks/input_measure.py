"""Input-pipeline throughput: our datamodule (prepared cache, per-sample augmentation per
batch) against the plain ``ImageFolder`` + PIL + ``transforms.v2`` baseline on the same files,
in the same run (the machine is shared and noisy, so only ratios measured together mean
anything)."""

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

from artclf.data.augment import IMAGENET_MEAN, IMAGENET_STD, AugmentSpec
from artclf.data.datamodule import ArtDataModule


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
    aug: Mapping | None,
    seconds: float = 5.0,
    *,
    batch_size: int = 64,
    num_workers: int = 2,
    cache_dir: str | Path | None = None,
) -> dict:
    """Images/s of model-ready (augmented, float, normalised) training batches from
    (a) ``ArtDataModule`` over the class folders under ``root`` (read as an ArtStation-style
    ``<root>/<class>/*`` download) with the prepared cache, transformed on the CPU as
    ``on_after_batch_transfer`` does; (b) ``ImageFolder`` + PIL + ``transforms.v2`` with
    ``num_workers`` processes; (c) random batch reads from the prepared array (the ceiling).
    Preparing the cache (a one-off per file list and size) is timed apart."""
    spec = AugmentSpec.from_config(aug)
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = ArtDataModule(
            "artstation",
            str(root),
            "artist",
            image_size,
            batch_size=batch_size,
            cache_dir=str(cache_dir or scratch),
            augment=aug,
        )
        started = time.perf_counter()
        datamodule.setup("fit")
        prepare_s = time.perf_counter() - started
        ours_rate = _rate(
            datamodule.train_dataloader(),
            seconds,
            lambda batch: (datamodule.model_input(batch[0], training=True), batch[1]),
        )
        array = np.load(datamodule.datasets["train"].array_file, mmap_mode="r")
        rng = np.random.default_rng(0)
        reads = (
            (torch.from_numpy(array[np.sort(rng.choice(len(array), batch_size))]),)
            for _ in itertools.count()
        )
        ceiling_rate = _rate(reads, seconds)
    transforms = torchvision_transforms(spec, image_size)
    folder = datasets.ImageFolder(str(root), transform=transforms)
    baseline = DataLoader(
        folder,
        batch_size=batch_size,
        shuffle=True,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    baseline_rate = _rate(baseline, seconds)
    return {
        "images": len(folder),
        "image_size": image_size,
        "batch_size": batch_size,
        "baseline_workers": num_workers,
        "prepare_s": round(prepare_s, 2),
        "ours_img_s": round(ours_rate),
        "imagefolder_img_s": round(baseline_rate),
        "memmap_ceiling_img_s": round(ceiling_rate),
        "speedup": round(ours_rate / baseline_rate, 1),
    }
