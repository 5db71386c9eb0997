"""Quality of a stylised image against its content photo: SSIM always, LPIPS when possible.

torchmetrics' LPIPS ships its own linear layers but builds its AlexNet/VGG backbone with
torchvision ImageNet weights; offline those are absent, so LPIPS is skipped with one message
per process (put the file in torch's hub cache to enable it).
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

    try:
        return LearnedPerceptualImagePatchSimilarity(net_type="alex", normalize=True).eval()
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        log.warning(
            "LPIPS skipped: torchvision AlexNet ImageNet weights are not available offline "
            "(%s); put alexnet-owt-7be5be79.pth in %s/checkpoints to enable it",
            type(err).__name__,
            torch.hub.get_dir(),
        )
        return None


def lpips(image: Tensor, reference: Tensor) -> float | None:
    """LPIPS (AlexNet) distance, lower = perceptually closer; ``None`` when unavailable."""
    model = _lpips_model()
    if model is None:
        return None
    with torch.no_grad():
        return float(model(image.clamp(0, 1), reference.clamp(0, 1)))
