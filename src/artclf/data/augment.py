"""Augmentation presets (``conf/aug/*.yaml``) with a fresh random draw for every sample.

Geometry (resized crop, flips, rotation) runs per sample in the DataLoader workers on the
uint8 CHW image read from the prepared cache, as nearest-neighbour index gathers: a resized
crop is two index vectors, and flips and rotation one precomputed index map per whole degree
(~80 µs per image at 224², measured on the 2-core CPU machine, against ~160 µs for PIL
flips + rotation and ~580 µs for tensor ops per image; batched ``grid_sample`` on that CPU
manages 800-1,300 img/s at 224², below the ``ImageFolder`` baseline). The same worker path
feeds a GPU: a 16-core host gathers far more images per second than one GPU trains, so there
is one geometric implementation rather than a second, batched one on the device.

Colour jitter and normalisation are per-batch tensor maths with per-sample factors, run on
the training device after the batch is transferred (``ArtDataModule.on_after_batch_transfer``).

Nearest-neighbour sampling and black fill match ``torchvision``'s ``RandomRotation``
defaults; rotations are rounded to whole degrees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torchvision.transforms import RandomResizedCrop

# Re-exported: normalisation is part of the data path, the constants belong to the weights.
from artclf.pretrained import IMAGENET_MEAN as IMAGENET_MEAN
from artclf.pretrained import IMAGENET_STD as IMAGENET_STD

_ASPECT_RANGE = (3 / 4, 4 / 3)


@dataclass(frozen=True)
class AugmentSpec:
    """One preset: flip probabilities, max rotation in degrees, crop area range, jitter."""

    hflip: float = 0.0
    vflip: float = 0.0
    rotation: float = 0.0
    resized_crop: tuple[float, float] | None = None
    color_jitter: tuple[float, float, float, float] | None = None

    @classmethod
    def from_config(cls, config: Mapping | None) -> AugmentSpec:
        """From an ``aug`` config (DictConfig or dict; ``name`` ignored); None: no augmentation."""
        if config is None:
            return cls()
        crop, jitter = config.get("resized_crop"), config.get("color_jitter")
        return cls(
            hflip=float(config.get("hflip", 0.0)),
            vflip=float(config.get("vflip", 0.0)),
            rotation=float(config.get("rotation", 0.0)),
            resized_crop=None if crop is None else (float(crop[0]), float(crop[1])),
            color_jitter=None if jitter is None else tuple(float(v) for v in jitter),
        )

    @property
    def geometric(self) -> bool:
        return bool(self.hflip or self.vflip or self.rotation or self.resized_crop)


def rotation_map(size: int, degrees: int) -> np.ndarray:
    """Flat source index of each output pixel of a ``size``² image rotated counter-clockwise by
    ``degrees`` about its centre (nearest neighbour); ``size * size`` marks outside (fill)."""
    centre = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size] - centre
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    src_x = np.rint(cos * xs - sin * ys + centre).astype(np.int64)
    src_y = np.rint(sin * xs + cos * ys + centre).astype(np.int64)
    inside = (src_x >= 0) & (src_x < size) & (src_y >= 0) & (src_y < size)
    return np.where(inside, src_y * size + src_x, size * size).astype(np.int32)


class GeometricAugment:
    """Per-sample geometry on one 3×``size``×``size`` uint8 array, drawn from torch's RNG (which
    the DataLoader seeds per worker, so runs are reproducible under ``seed_everything``).

    Flips and rotation are folded into one index map (flipping a map is a free view), so every
    augmented image costs a single gather, whatever was drawn."""

    def __init__(self, spec: AugmentSpec, size: int):
        self.spec = spec
        self.size = size
        self._maps: dict[int, np.ndarray] = {}
        self._frame = torch.empty(1, size, size)  # only its shape is read by get_params

    def _crop(self, image: np.ndarray) -> np.ndarray:
        top, left, height, width = RandomResizedCrop.get_params(
            self._frame, list(self.spec.resized_crop), list(_ASPECT_RANGE)
        )
        steps = (np.arange(self.size) + 0.5) / self.size
        rows = top + (steps * height).astype(np.intp)
        cols = left + (steps * width).astype(np.intp)
        return image[:, rows[:, None], cols[None, :]]

    def _map(self, degrees: int) -> np.ndarray:
        if degrees not in self._maps:
            self._maps[degrees] = rotation_map(self.size, degrees)
        return self._maps[degrees]

    def __call__(self, image: np.ndarray) -> np.ndarray:
        spec = self.spec
        if spec.resized_crop is not None:
            image = self._crop(image)
        u_h, u_v, u_angle = torch.rand(3).tolist()
        index = self._map(round((2 * u_angle - 1) * spec.rotation))
        if u_h < spec.hflip:
            index = index[:, ::-1]
        if u_v < spec.vflip:
            index = index[::-1]
        pixels = np.concatenate([image.reshape(3, -1), np.zeros((3, 1), np.uint8)], axis=1)
        return np.take(pixels, index, axis=1)


def _grey(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).unsqueeze(1)


def _factors(strength: float, n: int, like: torch.Tensor, centre: float = 1.0) -> torch.Tensor:
    low = max(0.0, centre - strength) if centre else -strength
    draw = torch.rand(n, 1, 1, 1, device=like.device, dtype=like.dtype)
    return low + draw * (centre + strength - low)


def color_jitter(x: torch.Tensor, strengths: tuple[float, float, float, float]) -> torch.Tensor:
    """Per-sample brightness, contrast, saturation and hue on a float batch in [0, 1], like
    ``torchvision``'s ColorJitter but vectorised over the batch (fixed order; hue as a rotation
    of the chroma plane in YIQ space, which needs no HSV round trip)."""
    brightness, contrast, saturation, hue = strengths
    n = x.shape[0]
    x = (x * _factors(brightness, n, x)).clamp_(0, 1)
    mean = _grey(x).mean(dim=(2, 3), keepdim=True)
    x = (mean + (x - mean) * _factors(contrast, n, x)).clamp_(0, 1)
    grey = _grey(x)
    x = (grey + (x - grey) * _factors(saturation, n, x)).clamp_(0, 1)
    if hue:
        to_yiq = x.new_tensor(
            [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]]
        )
        angle = 2 * math.pi * _factors(hue, n, x, centre=0.0).view(n)
        cos, sin = angle.cos(), angle.sin()
        rotate = torch.zeros(n, 3, 3, device=x.device, dtype=x.dtype)
        rotate[:, 0, 0] = 1
        rotate[:, 1, 1], rotate[:, 1, 2], rotate[:, 2, 1], rotate[:, 2, 2] = cos, -sin, sin, cos
        matrix = torch.linalg.inv(to_yiq) @ rotate @ to_yiq
        x = torch.einsum("nij,njhw->nihw", matrix, x).clamp_(0, 1)
    return x


def _stats(like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = torch.tensor(IMAGENET_MEAN, device=like.device, dtype=like.dtype).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=like.device, dtype=like.dtype).view(1, 3, 1, 1)
    return mean, std


def normalize(x: torch.Tensor) -> torch.Tensor:
    """ImageNet-normalised copy of a float batch in [0, 1]."""
    mean, std = _stats(x)
    return (x - mean) / std


def denormalize(x: torch.Tensor) -> torch.Tensor:
    """Back to [0, 1] for figures (Grad-CAM overlays, prediction grids)."""
    mean, std = _stats(x)
    return (x * std + mean).clamp(0, 1)


def batch_to_model_input(images: torch.Tensor, spec: AugmentSpec, training: bool) -> torch.Tensor:
    """uint8 NCHW batch → float normalised, colour-jittered per sample while training.

    In place on one new float tensor: on the CPU, allocating and touching fresh memory is
    most of the cost at 224²."""
    x = images.float().div_(255)
    if training and spec.color_jitter is not None:
        x = color_jitter(x, spec.color_jitter)
    mean, std = _stats(x)
    return x.sub_(mean).div_(std)
