"""Embeddings as a served version records them (``artclf.serving``): the classifier's pooled
features, the neck's output that its heads read, at most ``RECORDED_DIMS`` wide. Wider ones
pass through a fixed Gaussian projection seeded by their width, so the reference a training
run stores and the records of any serving process lie in one space without sharing state."""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor

from artclf.inference.classifier import predict_probabilities
from artclf.models.module import ClassificationModule

RECORDED_DIMS = 64


@functools.cache
def _projection(width: int) -> Tensor:
    """One Gaussian matrix per feature width, the same in every process (seeded by it)."""
    generator = torch.Generator().manual_seed(width)
    return torch.randn(width, RECORDED_DIMS, generator=generator) / RECORDED_DIMS**0.5


def recorded(features: Tensor) -> Tensor:
    """Features as recorded: as they are up to ``RECORDED_DIMS`` wide, else projected."""
    width = features.shape[1]
    return features if width <= RECORDED_DIMS else features @ _projection(width)


def scored(module: ClassificationModule, images: np.ndarray) -> tuple[dict[str, Tensor], Tensor]:
    """``predict_probabilities`` of uint8 NHWC ``images`` (what serving answers with) and the
    pooled features the heads read on the way, ``(N, width)``."""
    kept: list[Tensor] = []
    hook = module.net.neck.register_forward_hook(
        lambda _neck, _inputs, output: kept.append(output.detach().float().cpu())
    )
    try:
        probabilities = predict_probabilities(module, images)
    finally:
        hook.remove()
    return probabilities, torch.cat(kept).flatten(1)
