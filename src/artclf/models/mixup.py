"""Mixup and CutMix on a whole batch, where the batch is (``model.mixup``).

Each training batch is, with probability ``prob``, mixed with itself in reverse order:
either blended (mixup, weight drawn from Beta(``mixup_alpha``)) or with a box of one image
pasted into the other (CutMix, Beta(``cutmix_alpha``), the weight corrected to the box's
exact area). The targets become the same mix of the two one-hot labels. One draw per batch,
as timm's ``Mixup`` in batch mode, but on the batch's device and with torch's RNG, so runs
repeat under ``seed_everything``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F


@dataclass(frozen=True)
class BatchMixup:
    mixup_alpha: float = 0.2
    cutmix_alpha: float = 1.0
    prob: float = 1.0
    #: chance of CutMix rather than mixup when both alphas are positive
    switch_prob: float = 0.5

    @classmethod
    def from_config(cls, config: Mapping | None) -> BatchMixup | None:
        """From ``model.mixup`` (null, or a mapping of the fields); None when off."""
        if not config:
            return None
        mixer = cls(**{k: float(v) for k, v in config.items()})
        if mixer.mixup_alpha <= 0 and mixer.cutmix_alpha <= 0:
            raise ValueError(
                "model.mixup: set mixup_alpha or cutmix_alpha > 0 (or model.mixup=null)"
            )
        return mixer

    def _beta(self, alpha: float) -> float:
        return float(torch.distributions.Beta(alpha, alpha).sample())

    def __call__(self, images: Tensor, targets: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
        """The mixed batch and its soft targets ``(N, num_classes)``."""
        soft = F.one_hot(targets, num_classes).to(images.dtype)
        if float(torch.rand(())) >= self.prob:
            return images, soft
        cutmix = self.cutmix_alpha > 0 and (
            self.mixup_alpha <= 0 or float(torch.rand(())) < self.switch_prob
        )
        mixed = images.clone()
        if cutmix:
            lam = self._beta(self.cutmix_alpha)
            height, width = images.shape[-2:]
            cut_h, cut_w = round(height * (1 - lam) ** 0.5), round(width * (1 - lam) ** 0.5)
            cy, cx = int(torch.randint(height, ())), int(torch.randint(width, ()))
            top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
            left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
            mixed[..., top:bottom, left:right] = images.flip(0)[..., top:bottom, left:right]
            lam = 1 - (bottom - top) * (right - left) / (height * width)
        else:
            lam = self._beta(self.mixup_alpha)
            mixed = images * lam + images.flip(0) * (1 - lam)
        return mixed, soft * lam + soft.flip(0) * (1 - lam)
