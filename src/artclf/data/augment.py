"""Augmentation presets (``conf/aug/*.yaml``), applied per batch where the batch is, with a
fresh random draw for every sample.

``BatchTransform`` turns a loaded batch into the float, normalised batch a model takes, on the
training device (``ArtDataModule.on_after_batch_transfer``): on CUDA from pinned uint8 pixel
batches, on the CPU straight from the memory-mapped prepared cache. Geometry (flips, rotation)
is a nearest-neighbour pixel gather through precomputed index maps, fused with normalisation
(``resample.gather_scaled``); a resized crop is a gather before it; colour jitter is per-sample
tensor maths. ``transforms.v2`` on a batch would apply one draw to every image in it, and
per-sample ``grid_sample`` is too slow on a CPU to keep up with the ``ImageFolder`` baseline
(``make bench`` compares the input paths).

Nearest-neighbour sampling and black fill match ``torchvision``'s ``RandomRotation``
defaults; rotations are whole degrees.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from artclf.data.resample import Geometry, gather_scaled

# Re-exported: normalisation is part of the data path, the constants belong to the weights.
from artclf.weights.pretrained import IMAGENET_MEAN as IMAGENET_MEAN
from artclf.weights.pretrained import IMAGENET_STD as IMAGENET_STD

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


def _rotation_maps(size: int, max_degrees: int, device: torch.device) -> torch.Tensor:
    """``(2 * max_degrees + 1, size, size)`` flat source index of each output pixel for every
    whole-degree counter-clockwise rotation about the centre (nearest neighbour, as
    ``torchvision``'s ``RandomRotation`` default); ``size * size`` marks outside (black fill)."""
    centre = (size - 1) / 2
    radians = torch.deg2rad(torch.arange(-max_degrees, max_degrees + 1, device=device).double())
    cos, sin = radians.cos().view(-1, 1, 1), radians.sin().view(-1, 1, 1)
    steps = torch.arange(size, device=device, dtype=torch.float64) - centre
    ys, xs = steps.view(1, -1, 1), steps.view(1, 1, -1)
    src_x = torch.round(cos * xs - sin * ys + centre).long()
    src_y = torch.round(sin * xs + cos * ys + centre).long()
    inside = (src_x >= 0) & (src_x < size) & (src_y >= 0) & (src_y < size)
    return torch.where(inside, src_y * size + src_x, size * size)


class BatchGeometry:
    """Per-sample flips, rotation and resized crop for a uint8 ``(N, 3, size, size)`` batch on
    whatever device holds it (the GPU when training on CUDA).

    Every sample draws its own parameters (``transforms.v2`` on a batch draws once for all).
    Every whole-degree rotation, in each of its four flip variants, is a source-index map
    built once per device, so the geometry of a batch is one map number per sample, applied
    by ``gather_scaled`` in the same pass as normalisation. A resized crop, drawn as in
    ``RandomResizedCrop`` but clamped to the image instead of re-drawn, is a separable gather
    before that. Draws use torch's global RNG on the CPU, so runs repeat under
    ``seed_everything`` whatever the device."""

    def __init__(self, spec: AugmentSpec, size: int):
        self.spec, self.size = spec, size
        self.max_degrees = round(spec.rotation)
        self._maps: dict[torch.device, torch.Tensor] = {}

    def maps(self, device: torch.device) -> torch.Tensor:
        """``(4 * (2 * max_degrees + 1), size, size)`` maps, built once per device: map
        ``4 * angle + 2 * vflip + hflip``. uint16 on the CPU where the indices fit (half the
        bytes the gather reads: 24.5 MB for ±30° at 224²), int32 otherwise."""
        if device not in self._maps:
            rotations = _rotation_maps(self.size, self.max_degrees, device)
            variants = (rotations, rotations.flip(2), rotations.flip(1), rotations.flip(1, 2))
            small = device.type == "cpu" and self.size * self.size <= torch.iinfo(torch.uint16).max
            dtype = torch.uint16 if small else torch.int32
            self._maps[device] = torch.stack(variants, dim=1).flatten(0, 1).to(dtype)
        return self._maps[device]

    def draw(self, n: int, device: torch.device) -> Geometry:
        """A random rotation and flips for each of ``n`` images."""
        angle = torch.randint(0, 2 * self.max_degrees + 1, (n,))
        hflip = (torch.rand(n) < self.spec.hflip).long()
        vflip = (torch.rand(n) < self.spec.vflip).long()
        return Geometry(self.maps(device), choice=4 * angle + 2 * vflip + hflip)

    def crop(self, images: torch.Tensor) -> torch.Tensor:
        """A random resized crop of each image, back at full size (nearest neighbour)."""
        n, size = len(images), self.size
        low, high = self.spec.resized_crop
        area = low + (high - low) * torch.rand(n)
        log_low, log_high = math.log(_ASPECT_RANGE[0]), math.log(_ASPECT_RANGE[1])
        aspect = torch.exp(log_low + (log_high - log_low) * torch.rand(n))
        width = torch.round(size * torch.sqrt(area * aspect)).clamp(1, size)
        height = torch.round(size * torch.sqrt(area / aspect)).clamp(1, size)
        top = torch.floor(torch.rand(n) * (size - height + 1))
        left = torch.floor(torch.rand(n) * (size - width + 1))
        steps = (torch.arange(size) + 0.5) / size
        rows = (top[:, None] + steps * height[:, None]).long()
        cols = (left[:, None] + steps * width[:, None]).long()
        index = (rows[:, :, None] * size + cols[:, None, :]).view(n, 1, -1).to(images.device)
        return images.flatten(2).gather(2, index.expand(-1, 3, -1)).view_as(images)


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


class BatchTransform:
    """A uint8 ``(N, 3, size, size)`` batch → the float, ImageNet-normalised batch a model
    takes; while training, with per-sample geometry and colour jitter first. Runs where the
    batch is (``ArtDataModule.on_after_batch_transfer``): on the GPU when training on CUDA."""

    def __init__(self, spec: AugmentSpec, size: int):
        self.spec = spec
        self.geometry = BatchGeometry(spec, size) if spec.geometric else None
        mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
        #: uint8 → normalised float, and uint8 → [0, 1] (for jitter, which works there)
        self._normalise = (1 / (255 * std), -mean / std)
        self._unit = (torch.full((3,), 1 / 255), torch.zeros(3))

    def __call__(
        self, images: torch.Tensor, training: bool, rows: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``images`` is the uint8 batch, or with ``rows`` (on the CPU) an array holding it
        (the memory-mapped prepared cache): image ``n`` is ``images[rows[n]]``."""
        n, size, device = len(images if rows is None else rows), images.shape[-1], images.device
        jitter = self.spec.color_jitter if training else None
        scale, shift = self._normalise if jitter is None else self._unit
        if not training or self.geometry is None:
            geometry = Geometry.identity(n, size, device)
        else:
            if self.spec.resized_crop is not None:  # a gather of its own, before the others
                images = self.geometry.crop(images if rows is None else images[rows])
                rows = None
            geometry = self.geometry.draw(n, device)
        x = gather_scaled(images, geometry, scale, shift, rows)
        if jitter is None:
            return x
        mean, std = _stats(x)
        return color_jitter(x, jitter).sub_(mean).div_(std)
