"""Colour preservation by luminance-only transfer (Gatys et al. 2016, "Preserving color").

The stylised image keeps its luminance (the style's strokes and texture) and takes the
chrominance of the content photo, so a Monet style does not paint a portrait blue.
"""

from __future__ import annotations

import torch
from torch import Tensor

# ITU-R BT.601 full-range RGB -> YCbCr (offsets dropped: they cancel in the round trip).
_RGB_TO_YCBCR = torch.tensor(
    [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
)


def rgb_to_ycbcr(image: Tensor) -> Tensor:
    """``(B, 3, H, W)`` RGB in [0, 1] to Y, Cb, Cr (Cb/Cr centred on 0)."""
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YCBCR.to(image), image)


def ycbcr_to_rgb(image: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB_TO_YCBCR).to(image), image)


def preserve_colour(stylised: Tensor, content: Tensor) -> Tensor:
    """Luminance of ``stylised`` with the chrominance of ``content``, clamped to [0, 1]."""
    ycc = rgb_to_ycbcr(stylised)
    ycc[:, 1:] = rgb_to_ycbcr(content)[:, 1:]
    return ycbcr_to_rgb(ycc).clamp(0, 1)
