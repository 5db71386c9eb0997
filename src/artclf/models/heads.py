"""Classifier heads: feature map ``(B, C, H, W)`` -> logits ``(B, classes)``."""

from __future__ import annotations

from torch import Tensor, nn


class LinearHead(nn.Module):
    """Global average pooling (or flattening, as the seed study's simple CNN) then one linear layer."""

    def __init__(
        self, num_features: int, num_classes: int, pool: str = "avg", dropout: float = 0.0
    ) -> None:
        super().__init__()
        if pool not in ("avg", "flatten"):
            raise ValueError(f"model.head.pool={pool!r}; valid choices: avg, flatten")
        self.pool = nn.AdaptiveAvgPool2d(1) if pool == "avg" else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.LazyLinear(num_classes) if pool == "flatten" else nn.Linear(num_features, num_classes)

    def forward(self, features: Tensor) -> Tensor:
        return self.fc(self.dropout(self.pool(features).flatten(1)))
