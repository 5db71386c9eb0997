"""Augmentation presets: per-sample draws, shapes and dtypes, identity for ``aug=none``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from artclf.config import CONFIG_DIR
from artclf.data.augment import (
    AugmentSpec,
    GeometricAugment,
    batch_to_model_input,
    color_jitter,
    denormalize,
    rotation_map,
)

PRESETS = sorted(p.stem for p in (CONFIG_DIR / "aug").glob("*.yaml"))


def preset(name: str) -> AugmentSpec:
    return AugmentSpec.from_config(OmegaConf.load(CONFIG_DIR / "aug" / f"{name}.yaml"))


@pytest.fixture
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 24, 24), dtype=np.uint8)


@pytest.mark.parametrize("name", PRESETS)
def test_presets_keep_shape_and_dtype(name, image):
    augment = GeometricAugment(preset(name), 24)
    out = augment(image)
    assert out.shape == (3, 24, 24) and out.dtype == np.uint8 and out.flags.c_contiguous
    batch = torch.from_numpy(np.stack([out, image]))
    x = batch_to_model_input(batch, preset(name), training=True)
    assert x.shape == (2, 3, 24, 24) and x.dtype == torch.float32


@pytest.mark.parametrize("name", ["light", "aggressive"])
def test_every_sample_gets_its_own_draw(name, image):
    torch.manual_seed(0)
    augment = GeometricAugment(preset(name), 24)
    outputs = {augment(image).tobytes() for _ in range(16)}
    assert len(outputs) >= 12


def test_colour_jitter_differs_per_sample():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8).expand(8, -1, -1, -1)
    out = color_jitter(x, (0.3, 0.3, 0.3, 0.05))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert len({tuple(o.flatten()[:6].tolist()) for o in out}) == 8


def test_none_is_identity_before_normalisation(image):
    spec = preset("none")
    assert not spec.geometric and spec.color_jitter is None
    batch = torch.from_numpy(image)[None]
    x = batch_to_model_input(batch, spec, training=True)
    assert torch.allclose(denormalize(x) * 255, batch.float(), atol=1e-3)


def test_flips_mirror_exactly(image):
    always = GeometricAugment(AugmentSpec(hflip=1.0, vflip=1.0), 24)
    assert np.array_equal(always(image), image[:, ::-1, ::-1])


def test_rotation_matches_torchvision_nearest(image):
    pixels = np.concatenate([image.reshape(3, -1), np.zeros((3, 1), np.uint8)], axis=1)
    ours = torch.from_numpy(np.take(pixels, rotation_map(24, 30), axis=1))
    theirs = F.rotate(torch.from_numpy(image), 30, InterpolationMode.NEAREST)
    agree = (ours == theirs).all(0).float().mean()
    assert agree > 0.95
