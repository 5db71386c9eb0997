"""Quality of a stylised image against its content photo: SSIM always, LPIPS when possible.

torchmetrics' LPIPS ships its own linear layers but builds its AlexNet backbone with
torchvision ImageNet weights, which torchvision downloads when torch's hub cache lacks them.
Nothing is downloaded here: without the file in the cache LPIPS is skipped, said once per
process at debug level (most machines never have the file; a line in every stylize run only
repeated it). Put the file there to enable it.
"""

from __future__ import annotations

import logging
from functools import cache

import torch
from torch import Tensor, nn
from torchmetrics.functional.image import structural_similarity_index_measure

log = logging.getLogger(__name__)


def ssim(image: Tensor, reference: Tensor) -> float:
    """SSIM of two ``(B, 3, H, W)`` images in [0, 1] (1 = identical structure)."""
    return float(structural_similarity_index_measure(image, reference, data_range=1.0))


@cache
def _lpips_model() -> nn.Module | None:
    from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity
    from torchvision.models import AlexNet_Weights

    from artclf.weights.reach import hub_checkpoint_path

    weights = AlexNet_Weights.IMAGENET1K_V1
    cached = hub_checkpoint_path(weights.url)
    if not cached.is_file():
        log.debug(
            "LPIPS skipped: no AlexNet weights at %s (download %s there)", cached, weights.url
        )
        return None
    try:
        return LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True).eval()
    except (OSError, RuntimeError) as err:  # a truncated or corrupt file in the cache
        log.warning("LPIPS skipped: %s cannot be loaded (%s)", cached, type(err).__name__)
        return None


def lpips(image: Tensor, reference: Tensor) -> float | None:
    """LPIPS (AlexNet) distance, lower = perceptually closer; ``None`` when unavailable."""
    model = _lpips_model()
    if model is None:
        return None
    with torch.no_grad():
        return float(model(image.clamp(0, 1), reference.clamp(0, 1)))
