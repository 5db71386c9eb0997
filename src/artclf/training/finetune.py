"""Two-phase fine-tuning of the studies' ResNet50 (Zhang, Ding), as a Lightning callback.

Phase 1 trains the whole network; from ``switch_epoch`` on, the backbone core is frozen and
only the head and the top ``top_layers`` layers of the backbone keep learning. A "layer" is
counted as Keras counts them for these models: a leaf module with weights (conv, BatchNorm,
dense), from the output end of the backbone.
"""

from __future__ import annotations

import logging

import lightning as L
from lightning.pytorch.callbacks import BaseFinetuning
from torch import nn

log = logging.getLogger(__name__)


def top_layers(body: nn.Module, count: int) -> list[nn.Module]:
    """The last ``count`` leaf modules of ``body`` that own parameters, in forward order."""
    leaves = [
        m for m in body.modules() if not list(m.children()) and list(m.parameters(recurse=False))
    ]
    return leaves[-count:] if count > 0 else []


class TwoPhaseFinetuning(BaseFinetuning):
    """Switch from full training to "head + top layers" at ``switch_epoch`` (0-based)."""

    def __init__(self, switch_epoch: int, top_layers: int = 50) -> None:
        super().__init__()
        if switch_epoch < 1:
            raise ValueError(f"model.finetune.switch_epoch={switch_epoch}; must be ≥ 1 (phase 1)")
        self.switch_epoch = switch_epoch
        self.top_layers = top_layers

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        """Phase 1 trains everything: nothing is frozen up front."""

    def finetune_function(
        self, pl_module: L.LightningModule, epoch: int, optimizer: object
    ) -> None:
        if epoch != self.switch_epoch:
            return
        body = pl_module.net.body
        self.freeze(body, train_bn=False)
        for layer in top_layers(body, self.top_layers):
            self.make_trainable(layer)
        trainable = sum(p.numel() for p in body.parameters() if p.requires_grad)
        log.info(
            "epoch %d: phase 2, backbone core frozen; %d top layers (%d weights) still train",
            epoch,
            self.top_layers,
            trainable,
        )
