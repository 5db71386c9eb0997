"""One registered version, loaded in the inference worker: its network (on CUDA where there
is one, for good: no copy per request), its kind, what it answers for
(``models:/<name>@<alias>``) and its card."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import Tensor, nn

from artclf.data.resize import checkpoint_resize
from artclf.inference.classifier import load_module
from artclf.monitoring.embedding import scored
from artclf.runtime.devices import device_policy
from artclf.serving.cards import classifier_card, style_card
from artclf.serving.kinds import ADAIN, CLASSIFIER, CYCLEGAN, DESCRIPTIONS, kind_of
from artclf.style.adain_model import load_adain
from artclf.style.cyclegan.loader import load_cyclegan
from artclf.tracking.sources import read_checkpoint


@dataclass(frozen=True)
class Slot:
    """A version serving under one alias: ``uri`` as configured, ``version`` as resolved.
    ``module`` is a ``ClassificationModule``, an ``AdaINNet`` or a CycleGAN's generators by
    direction, as ``kind`` says; ``score``, ``tasks`` and ``reading`` are a classifier's."""

    uri: str
    name: str
    version: str
    kind: str
    module: nn.Module
    card: dict[str, Any]

    def score(self, images: np.ndarray) -> tuple[dict[str, Tensor], Tensor]:
        """Per task ``(N, classes)`` probabilities (``predict_probabilities``: predict's
        numbers) and ``(N, features)`` pooled features (what monitoring compares), one pass."""
        return scored(self.module, images)

    @property
    def alias(self) -> str | None:
        return self.uri.rpartition("@")[2] if "@" in self.uri else None

    @property
    def tasks(self) -> dict[str, list[str]]:
        return self.module.tasks

    @property
    def reading(self) -> tuple[int, str]:
        """How its images are read: the side and the resize policy it trained with."""
        hparams = self.module.hparams
        return int(hparams.model["image_size"]), checkpoint_resize(hparams.get("data"))


def generators(source: str) -> nn.ModuleDict:
    """A trained CycleGAN's two generators by direction (``a2b``, ``b2a``), in eval mode;
    its discriminators are left behind."""
    module = load_cyclegan(source)
    return nn.ModuleDict({"a2b": module.g_ab, "b2a": module.g_ba}).eval()


#: Held while an AdaIN is built and while one draws: building one traces its encoder with
#: torch.fx (``FeatureTaps``), which patches every module's ``__call__`` in the process
#: meanwhile, so a forward pass in another thread at that moment fails. A promotion of an
#: AdaIN thus holds its answers for the build; classifiers and CycleGANs build untraced.
TRACING = threading.Lock()

#: Each kind's network, on the CPU in eval mode, from a checkpoint source.
LOADERS: dict[str, Callable[[str], nn.Module]] = {
    CLASSIFIER: load_module,
    ADAIN: load_adain,
    CYCLEGAN: generators,
}


def load_slot(
    uri: str, version, client, kind: str | None = None, device: str | None = None
) -> Slot:
    """``version`` (a ``ModelVersion`` the alias of ``uri`` names) loaded, pinned by its
    number, on ``device`` (None: the device policy's); with ``kind``, a version of another
    kind is refused before it is loaded."""
    source = f"models:/{version.name}/{version.version}"
    found = kind_of(read_checkpoint(source).get("hyper_parameters") or {}, source)
    if kind is not None and found != kind:
        raise ValueError(
            f"{uri} names version {version.version}, {DESCRIPTIONS[found]}; this server's "
            f"routes are for {DESCRIPTIONS[kind]} (restart it to serve the new kind)"
        )
    with TRACING if found == ADAIN else contextlib.nullcontext():
        module = LOADERS[found](source).to(device or device_policy().device)
    if found == CLASSIFIER:
        card = classifier_card(version, module, client)
    else:
        card = style_card(version, found, client)
    return Slot(uri, version.name, str(version.version), found, module, card)
