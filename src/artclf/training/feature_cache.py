"""``model.freeze_mode=cached``: the frozen first layers run once per image and augmented view
(``model.cache_views`` of them), before training; each epoch then trains the rest of the
network on one stored view per image, drawn at random, instead of running those layers again.

The views are fixed draws of the run's augmentation (the same for every run: a seed of their
own), so runs with other seeds, hyperparameters or CV folds over the same files, size,
augmentation and frozen weights reuse the file; any of those changed gives a new key and a
new file. Validation and testing run the whole network on unaugmented images, as always.
With ``cache_views`` at least the number of epochs, one run computes as many frozen passes
as ``freeze_mode=inference`` does, and gains only from the later runs that reuse them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch

from artclf.data.datamodule import ArtDataModule
from artclf.data.feature_cache import FeatureViews, build_feature_views
from artclf.models.classifier import Classifier
from artclf.runtime.devices import device_policy

log = logging.getLogger(__name__)

#: Bumped when how views are drawn or stored changes, so old files are not reused.
FEATURE_VERSION = 1
#: The views' own seed: view ``v`` of the chunk starting at row ``r`` is drawn with
#: ``VIEW_SEED + v * 1_000_003 + r``, whatever the run's seed.
VIEW_SEED = 20_251_207


def feature_key(datamodule: ArtDataModule, net: Classifier, views: int, device_type: str) -> str:
    """A name for the views of ``datamodule``'s files under ``net``'s frozen layers: files and
    image size (the prepared cache's fingerprint), resize policy, augmentation, number of
    views, frozen weights and arithmetic."""
    listing = [
        FEATURE_VERSION,
        datamodule.fingerprint,
        datamodule.resize,
        asdict(datamodule.augment),
        views,
        net.frozen.digest(device_type),
    ]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:20]


def attach_feature_cache(
    net: Classifier, datamodule: ArtDataModule, views: int, device: torch.device | None = None
) -> FeatureViews:
    """Build (or find) the views of every image of ``datamodule``'s prepared cache under
    ``net``'s frozen layers on ``device`` (the device policy's by default), and hand them to
    the datamodule, whose training batches then are those views."""
    if not datamodule.cache:
        raise ValueError("model.freeze_mode=cached reads the prepared cache; set data.cache=true")
    device = device or device_policy().device
    key = feature_key(datamodule, net, views, device.type)
    path = Path(datamodule.cache_dir) / f"features-{key}-{views}views.npy"
    images = datamodule.datasets["train"].cached_array()
    home = next(net.parameters()).device

    def encode(view: int, start: int, stop: int) -> torch.Tensor:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(VIEW_SEED + view * 1_000_003 + start)
            batch = datamodule.transform(images, True, rows=torch.arange(start, stop))
        return net.frozen.features(batch.to(device))

    started = time.perf_counter()
    net.to(device)
    try:
        store = build_feature_views(path, views, len(images), encode, datamodule.batch_size)
    finally:
        net.to(home)
    log.info(
        "frozen layers' output: %d images × %d views in %s (%.0f s)",
        len(images), views, path.name, time.perf_counter() - started,
    )  # fmt: skip
    datamodule.train_features = store
    return store
