"""The pool of past fakes the CycleGAN discriminators are shown."""

from __future__ import annotations

import random

import torch
from torch import Tensor


class ImagePool:
    """Past generated images: the discriminator sees a mix of old and new fakes, which damps
    oscillation between generator and discriminator (Shrivastava et al. 2017)."""

    def __init__(self, size: int = 50) -> None:
        self.size = size
        self.images: list[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() < 0.5:
                index = random.randrange(self.size)
                out.append(self.images[index])
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)
