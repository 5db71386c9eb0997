"""Gatys losses, each normalised by its target so one weight setting fits every backbone.

Raw Gram and feature magnitudes differ by orders of magnitude between VGG19, ResNet50 and
EfficientNet-Lite0 (and between layers). Dividing each layer's squared error by the mean
square of its target gives every layer an equal say (the role of Gatys' 1/(4N²M²)) and keeps
``style_weight``/``content_weight`` meaningful when the backbone changes, which is what a
sweep over them needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor
from torchmetrics.functional.image import total_variation


def gram_matrix(features: Tensor) -> Tensor:
    """Channel correlations ``F Fᵀ / (C·H·W)`` of a ``(B, C, H, W)`` activation."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def _relative_mse(value: Tensor, target: Tensor) -> Tensor:
    return (value - target).pow(2).mean() / target.pow(2).mean().clamp_min(1e-12)


def style_loss(
    features: Mapping[str, Tensor], target_grams: Mapping[str, Tensor], layers: Sequence[str]
) -> Tensor:
    """Mean over ``layers`` of the relative squared error between Gram matrices."""
    terms = [_relative_mse(gram_matrix(features[k]), target_grams[k]) for k in layers]
    return torch.stack(terms).mean()


def mean_std(features: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-image, per-channel mean and standard deviation of ``(B, C, H, W)``, each
    ``(B, C, 1, 1)``: the statistics AdaIN transfers and its style loss compares."""
    flat = features.flatten(2)
    std = (flat.var(dim=2, unbiased=False) + eps).sqrt()
    return flat.mean(dim=2)[..., None, None], std[..., None, None]


def moment_style_loss(
    features: Mapping[str, Tensor],
    target_moments: Mapping[str, tuple[Tensor, Tensor]],
    layers: Sequence[str],
) -> Tensor:
    """AdaIN's style loss: mean over ``layers`` of the relative squared error of the
    per-channel means plus that of the standard deviations."""
    terms = []
    for k in layers:
        mean, std = mean_std(features[k])
        target_mean, target_std = target_moments[k]
        terms.append(_relative_mse(mean, target_mean) + _relative_mse(std, target_std))
    return torch.stack(terms).mean()


def content_loss(
    features: Mapping[str, Tensor], targets: Mapping[str, Tensor], layers: Sequence[str]
) -> Tensor:
    """Mean over ``layers`` of the relative squared error between activations."""
    return torch.stack([_relative_mse(features[k], targets[k]) for k in layers]).mean()


def tv_loss(image: Tensor) -> Tensor:
    """Total variation per pixel and channel, so its weight does not depend on image size."""
    return total_variation(image, reduction="mean") / image[0].numel()
