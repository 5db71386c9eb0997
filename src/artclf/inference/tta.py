"""Test-time augmentation: the views of a normalised batch whose predictions are averaged
(``tta=flip|multicrop`` in evaluate and predict).

``flip``       the batch and its mirror image (style does not care about left and right)
``multicrop``  the whole image, its centre and its four corners at 7/8 of the side, each
               resized back to the input size (brushwork seen at 8/7 the scale)
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

TTA_MODES = ("none", "flip", "multicrop")
_CROP = 7 / 8


def check_tta(mode: str | None) -> str:
    mode = "none" if mode is None else str(mode)
    if mode not in TTA_MODES:
        raise ValueError(f"tta={mode!r}; valid choices: {', '.join(TTA_MODES)}")
    return mode


def _crop(batch: Tensor, top: int, left: int, side: int) -> Tensor:
    window = batch[..., top : top + side, left : left + side]
    return F.interpolate(window, size=batch.shape[-2:], mode="bilinear", align_corners=False)


def views(batch: Tensor, mode: str) -> list[Tensor]:
    """The batches to predict on under ``mode`` (``none``: the batch itself)."""
    mode = check_tta(mode)
    if mode == "none":
        return [batch]
    if mode == "flip":
        return [batch, batch.flip(-1)]
    size = batch.shape[-1]
    side = round(size * _CROP)
    centre, far = (size - side) // 2, size - side
    corners = [(centre, centre), (0, 0), (0, far), (far, 0), (far, far)]
    return [batch, *(_crop(batch, top, left, side) for top, left in corners)]


def averaged_probabilities(model: torch.nn.Module, batch: Tensor, mode: str) -> dict[str, Tensor]:
    """Softmax probabilities per task, ``{task: (N, classes)}``, averaged over the views
    (float32, on the batch's device)."""
    total: dict[str, Tensor] = {}
    parts = views(batch, mode)
    for view in parts:
        for task, values in model(view).items():
            probs = values.float().softmax(dim=1)
            total[task] = total[task] + probs if task in total else probs
    return {task: value / len(parts) for task, value in total.items()}
