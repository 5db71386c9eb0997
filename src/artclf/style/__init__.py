"""Style transfer: Gatys (frozen feature taps, Gram losses, an optimisation loop), AdaIN and
CycleGAN networks, and what ``stylize`` runs."""

from artclf.style.engine import TransferResult, TransferSettings, transfer
from artclf.style.errors import StyleTransferError
from artclf.style.taps import BACKBONES, FeatureTaps, build_feature_taps

__all__ = [
    "BACKBONES",
    "FeatureTaps",
    "StyleTransferError",
    "TransferResult",
    "TransferSettings",
    "build_feature_taps",
    "transfer",
]
