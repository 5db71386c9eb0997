"""One fused pass from uint8 images to the float batch a model takes: a per-sample pixel
gather (the augmentation's geometry) with a per-channel scale and shift (normalisation).

On CUDA this is a handful of torch kernels, which the GPU runs in well under a millisecond.
On the CPU those kernels make several passes over a 38.5 MB float batch (64 × 224²) and
materialise a 25 MB index; a numba kernel (``gather_kernel``) does it all in one parallel
pass, reading the pixels straight from the memory-mapped prepared array, so a batch is never
copied out first. That is what lets a 2-core machine feed 224² batches at many times the rate
of ``ImageFolder`` + PIL (``make bench``). Without numba, the torch path runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import torch


@dataclass(frozen=True)
class Geometry:
    """Where each output pixel of each sample comes from: sample ``n`` takes the source-index
    map ``maps[choice[n]]``. ``maps`` is ``(K, H, W)`` flat indices into the source image
    (``H * W`` meaning outside: black), one map per geometric variant (a rotation with its
    flips), on the device of the images; ``choice`` is ``(N,)`` int64 on the CPU."""

    maps: torch.Tensor
    choice: torch.Tensor

    @classmethod
    def identity(cls, n: int, size: int, device: torch.device) -> Geometry:
        """Every pixel from where it is: plain conversion and normalisation."""
        maps = torch.arange(size * size, dtype=torch.int32, device=device).view(1, size, size)
        return cls(maps, torch.zeros(n, dtype=torch.int64))


def gather_scaled(
    source: torch.Tensor,
    geometry: Geometry,
    scale: torch.Tensor,
    shift: torch.Tensor,
    rows: torch.Tensor | None = None,
) -> torch.Tensor:
    """``out[n, c, p] = image_n[c, source(n, p)] * scale[c] + shift[c]``, and ``shift[c]``
    (black) where the source pixel is outside the image.

    ``source`` is ``(M, 3, H, W)`` uint8 on any device (``geometry.maps`` on the same one):
    the batch itself, or with ``rows`` (``(N,)`` int64 on the CPU) a larger array such as the
    memory-mapped prepared cache, whose ``rows[n]`` is image ``n``. ``scale`` and ``shift``
    are ``(3,)`` float32."""
    kernel = _numba_kernel() if source.device.type == "cpu" else None
    if kernel is None:
        images = source if rows is None else source[rows.to(source.device)]
        return _gather_scaled_torch(images, geometry, scale, shift)
    if rows is None:
        rows = torch.arange(len(source))
    out = torch.empty((len(rows), *source.shape[1:]), dtype=torch.float32)
    kernel(
        source.flatten(2).numpy(),
        rows.numpy(),
        geometry.maps.flatten(1).numpy(),
        geometry.choice.numpy(),
        scale.numpy(),
        shift.numpy(),
        out.flatten(2).numpy(),
    )
    return out


def _gather_scaled_torch(
    images: torch.Tensor, geometry: Geometry, scale: torch.Tensor, shift: torch.Tensor
) -> torch.Tensor:
    n, channels = images.shape[:2]
    device = images.device
    index = geometry.maps[geometry.choice.to(device)]
    pixels = torch.cat([images.flatten(2), images.new_zeros(n, channels, 1)], dim=2)
    index = index.flatten(1).long()[:, None].expand(-1, channels, -1)
    gathered = pixels.gather(2, index).view_as(images).float()
    scale, shift = scale.to(device).view(1, -1, 1, 1), shift.to(device).view(1, -1, 1, 1)
    return gathered.mul_(scale).add_(shift)


@cache
def _numba_kernel() -> Callable[..., None] | None:
    """The compiled CPU kernel (compiled once, cached on disk by numba), or None without numba."""
    try:
        from artclf.data.gather_kernel import gather_scaled as kernel
    except ImportError:
        return None
    return kernel
