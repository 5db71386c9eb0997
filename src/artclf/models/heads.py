"""Heads: a neck turns the backbone's output into one feature vector, a classifier per task
turns that vector into logits. Several classifiers on one neck make a multi-task model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

NECKS = ("pool", "gram", "gram+gap")


def global_pool(features: Tensor) -> Tensor:
    """Average over space (``B, C, H, W``) or over tokens (``B, N, C``, vision transformers)."""
    return features.mean(dim=(2, 3)) if features.dim() == 4 else features.mean(dim=1)


class PoolNeck(nn.Module):
    """Global average pooling, or flattening (the seed studies' small CNNs)."""

    def __init__(self, pool: str = "avg") -> None:
        super().__init__()
        if pool not in ("avg", "flatten"):
            raise ValueError(f"model.pool={pool!r}; valid choices: avg, flatten")
        self.pool = pool

    def forward(self, features: Tensor, taps: list[Tensor]) -> Tensor:
        return global_pool(features) if self.pool == "avg" else features.flatten(1)


class GramNeck(nn.Module):
    """The style representation as features: for each tapped stage, a 1x1 convolution reduces
    the channels to ``channels``, the Gram matrix (channel co-activation averaged over space)
    is taken, its upper triangle signed-square-rooted and L2-normalised; the stages are
    concatenated, optionally with the L2-normalised pooled final features (``gram+gap``).

    Gram matrices discard where things are and keep which textures co-occur, which is what
    separates styles; the 1x1 reduction keeps the vector small for wide stages (2048 channels).
    """

    def __init__(self, n_taps: int, channels: int = 32, with_pool: bool = False) -> None:
        super().__init__()
        self.reduce = nn.ModuleList(nn.LazyConv2d(channels, 1) for _ in range(n_taps))
        self.with_pool = with_pool
        rows, cols = torch.triu_indices(channels, channels)
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    def forward(self, features: Tensor, taps: list[Tensor]) -> Tensor:
        if len(taps) != len(self.reduce):
            raise ValueError(f"style head expects {len(self.reduce)} stages, got {len(taps)}")
        parts = []
        for reduce, tap in zip(self.reduce, taps, strict=True):
            x = reduce(tap).flatten(2)  # B, c, HW
            gram = x @ x.transpose(1, 2) / x.shape[-1]
            upper = gram[:, self.rows, self.cols]
            parts.append(F.normalize(upper.sign() * (upper.abs() + 1e-8).sqrt(), dim=1))
        if self.with_pool:
            parts.append(F.normalize(global_pool(features), dim=1))
        return torch.cat(parts, dim=1)


class DenseClassifier(nn.Sequential):
    """``hidden`` Dense layers (ReLU, then BatchNorm when ``batchnorm``), dropout, logits.
    ``hidden=[]`` is a linear classifier; ``[512, 16]`` with batchnorm is the studies'
    ResNet50 head, ``[64]`` with dropout 0.5 Zhang's custom CNN head."""

    def __init__(
        self, num_classes: int, hidden: list[int], dropout: float = 0.0, batchnorm: bool = False
    ) -> None:
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.LazyLinear(width), nn.ReLU()]
            if batchnorm:
                layers.append(nn.BatchNorm1d(width))
        layers += [nn.Dropout(dropout), nn.LazyLinear(num_classes)]
        super().__init__(*layers)


def neck_kind(model_cfg: Mapping[str, Any]) -> str:
    """``model.neck``. Checkpoints from before the rename call it ``model.head`` (``dense``
    for ``pool``) and still load; a config setting ``model.head`` is told the new name."""
    head = model_cfg.get("head")
    if "neck" in model_cfg and head is not None:
        new = "pool" if head == "dense" else head
        raise ValueError(f"model.head={head!r} is now model.neck; use model.neck={new}")
    kind = model_cfg.get("neck") or head or "pool"
    return "pool" if kind == "dense" else str(kind)


def create_neck(kind: str, n_taps: int, pool: str, gram_channels: int) -> nn.Module:
    if kind == "pool":
        return PoolNeck(pool)
    if kind in ("gram", "gram+gap"):
        return GramNeck(n_taps, gram_channels, with_pool=kind == "gram+gap")
    raise ValueError(f"unknown model.neck {kind!r}; valid choices: {', '.join(NECKS)}")
