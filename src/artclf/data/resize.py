"""How a painting of any aspect ratio becomes the square input a model takes: one decision,
shared by the prepared cache, ``data.cache=false`` decoding, evaluate, predict and explain.

``crop``   shorter side to ``size``, centre crop (aspect kept, edges lost; the default)
``squash`` both sides to ``size`` (everything kept, shapes distorted)
``pad``    longer side to ``size``, letterboxed with the ImageNet mean colour (everything
           kept undistorted, fewer pixels for the painting)

On a square image all three give the same pixels, so the choice matters for non-square
inputs only: a model trained on squashed squares (as some WikiArt mirrors ship) sees the
same distortion at inference under ``squash``. A checkpoint stores its training policy in
``hparams.data.resize``; evaluate, predict and explain use it unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PIL import Image, ImageOps

RESIZE_POLICIES = ("crop", "squash", "pad")
#: What ``null`` means: the behaviour of checkpoints written before the option existed.
DEFAULT_RESIZE = "crop"
#: ImageNet mean colour: letterbox bars normalise to zero, the least informative input.
PAD_FILL = (124, 116, 104)


def check_resize(policy: str | None) -> str:
    """The policy, with ``None`` as the default; anything else unknown is a clear error."""
    policy = DEFAULT_RESIZE if policy is None else str(policy)
    if policy not in RESIZE_POLICIES:
        raise ValueError(
            f"data.resize={policy!r}; valid choices: {', '.join(RESIZE_POLICIES)} (or null)"
        )
    return policy


def fit(image: Image.Image, size: int, policy: str = DEFAULT_RESIZE) -> np.ndarray:
    """``size``×``size``×3 uint8 of an RGB image under ``policy`` (bilinear)."""
    policy = check_resize(policy)
    bilinear = Image.Resampling.BILINEAR
    if policy == "crop":
        square = ImageOps.fit(image, (size, size), bilinear)
    elif policy == "squash":
        square = image.resize((size, size), bilinear)
    else:
        square = ImageOps.pad(image, (size, size), bilinear, color=PAD_FILL)
    return np.asarray(square)


def checkpoint_resize(data: Mapping[str, Any] | None, override: str | None = None) -> str:
    """The policy to read images with for a checkpoint: ``override`` when given, else the one
    its training data config stored (``None``/absent: the default)."""
    if override is not None:
        return check_resize(override)
    return check_resize((data or {}).get("resize"))
