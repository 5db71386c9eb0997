"""Applying a trained generator: images in [0, 1] in, translated images in [0, 1] out. The one
place ``stylize``, the app and the logged MLflow Model translate an image."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def translate(generator: nn.Module, image: Tensor) -> Tensor:
    """``(N, 3, H, W)`` in [0, 1] through a generator that works in [-1, 1]."""
    with torch.no_grad():
        return generator(image * 2 - 1).add(1).div(2).clamp(0, 1)
