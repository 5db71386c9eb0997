"""Augmentation presets on whole batches: per-sample draws, exact flips, torchvision-equal
rotation, identity for ``aug=none``, and the numba and torch paths giving the same pixels."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from artclf.data import resample
from artclf.data.augment import (
    AugmentSpec,
    BatchTransform,
    _rotation_maps,
    color_jitter,
    denormalize,
    normalize,
)
from artclf.runtime.config import CONFIG_DIR

PRESETS = sorted(p.stem for p in (CONFIG_DIR / "aug").glob("*.yaml"))
DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def preset(name: str) -> AugmentSpec:
    return AugmentSpec.from_config(OmegaConf.load(CONFIG_DIR / "aug" / f"{name}.yaml"))


@pytest.fixture
def batch() -> torch.Tensor:
    return torch.randint(0, 256, (6, 3, 24, 24), dtype=torch.uint8, generator=torch.manual_seed(0))


def pixels(x: torch.Tensor) -> torch.Tensor:
    """Model input back to uint8 values (exact for transforms without colour jitter)."""
    return (denormalize(x) * 255).round().to(torch.uint8)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", PRESETS)
def test_presets_give_normalised_float_batches_on_the_batch_device(name, device, batch):
    x = BatchTransform(preset(name), 24)(batch.to(device), training=True)
    assert x.shape == (6, 3, 24, 24) and x.dtype == torch.float32 and x.device.type == device
    assert x.isfinite().all()


@pytest.mark.parametrize("name", ["light", "aggressive"])
def test_every_sample_gets_its_own_draw(name, batch):
    torch.manual_seed(0)
    same_image = batch[:1].expand(16, -1, -1, -1).contiguous()
    out = BatchTransform(preset(name), 24)(same_image, training=True)
    assert len({o.numpy().tobytes() for o in out}) >= 12


def test_the_same_seed_repeats_the_same_augmentation(batch):
    transform = BatchTransform(preset("aggressive"), 24)
    torch.manual_seed(3)
    first = transform(batch, training=True)
    torch.manual_seed(3)
    assert torch.equal(transform(batch, training=True), first)


def test_evaluation_and_aug_none_only_normalise(batch):
    expected = normalize(batch.float() / 255)
    for spec, training in ((preset("aggressive"), False), (preset("none"), True)):
        x = BatchTransform(spec, 24)(batch, training=training)
        assert torch.allclose(x, expected, atol=1e-5)
        assert torch.equal(pixels(x), batch)


def test_flips_mirror_exactly(batch):
    always = BatchTransform(AugmentSpec(hflip=1.0, vflip=1.0), 24)
    assert torch.equal(pixels(always(batch, training=True)), batch.flip(2, 3))


def test_rotation_matches_torchvision_nearest(batch):
    plus_30 = _rotation_maps(24, 30, torch.device("cpu"))[60].flatten()
    padded = torch.cat([batch.flatten(2), batch.new_zeros(6, 3, 1)], dim=2)
    ours = padded[:, :, plus_30].view_as(batch)
    theirs = F.rotate(batch, 30, InterpolationMode.NEAREST)
    assert (ours == theirs).all(1).float().mean() > 0.95


def test_resized_crop_zooms_into_the_image():
    ramp = torch.arange(32, dtype=torch.uint8).repeat(8, 3, 32, 1) * 8  # x-gradient
    zoom = BatchTransform(AugmentSpec(resized_crop=(0.25, 0.25)), 32)
    out = pixels(zoom(ramp, training=True))
    assert out.shape == ramp.shape
    spans = out[:, 0, 16].amax(1) - out[:, 0, 16].amin(1)
    assert (spans < 200).all() and len(set(spans.tolist())) > 1


@pytest.mark.parametrize("name", PRESETS)
def test_numba_and_torch_paths_give_the_same_pixels(name, batch, monkeypatch):
    assert resample._numba_kernel() is not None, "numba is a dependency; its kernel must load"
    transform = BatchTransform(preset(name), 24)
    torch.manual_seed(1)
    fused = transform(batch, training=True)
    monkeypatch.setattr(resample, "_numba_kernel", lambda: None)
    torch.manual_seed(1)
    assert torch.allclose(transform(batch, training=True), fused, atol=1e-6)


def test_colour_jitter_differs_per_sample():
    torch.manual_seed(0)
    x = torch.rand(1, 3, 8, 8).expand(8, -1, -1, -1)
    out = color_jitter(x, (0.3, 0.3, 0.3, 0.05))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert len({tuple(o.flatten()[:6].tolist()) for o in out}) == 8
