"""How the frozen layers run while training: ``model.freeze_mode``.

``model.freeze`` alone (``freeze_mode=train``) only stops gradients into the layers it names.
They still run in training mode, so their BatchNorm layers normalise by each batch's
statistics and keep moving their running ones, in float32 and the default layout, every
epoch. ``inference`` runs them as at test time, while training too: eval mode (the pretrained
BatchNorm statistics stay), no autograd, channels-last, and bf16 autocast where the device
computes bf16 in hardware (``artclf.runtime.devices.native_bf16``); the trainable layers after
them then run channels-last too. ``cached`` runs them that way once per image and augmented
view and trains the rest on the stored output (``artclf.training.feature_cache``). Both need
the frozen layers to be the backbone's first ones: then their output is all the rest reads.
``make bench ARGS="--only finetune"`` measures the three side by side.
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor, nn

from artclf.models.backbones import Step
from artclf.runtime.devices import native_bf16

FREEZE_MODES = ("train", "inference", "cached")


def _parameters(step: Step) -> list[nn.Parameter]:
    module = step[1]
    return list(module.parameters()) if isinstance(module, nn.Module) else []


def _frozen_count(step: Step) -> tuple[int, int]:
    """How many of the step's parameter tensors are frozen, and how many it has."""
    parameters = _parameters(step)
    return sum(not p.requires_grad for p in parameters), len(parameters)


class FrozenSplit:
    """A body's forward cut after its frozen first steps: ``features`` runs those as
    inference, ``rest`` the trainable remainder. It holds the body's own modules without
    registering them, so parameter names, state dicts and checkpoints do not change."""

    def __init__(self, frozen: list[Step], rest: list[Step]) -> None:
        self.frozen, self.rest_steps = frozen, rest

    def modules(self) -> list[tuple[str, nn.Module]]:
        return [(name, step) for name, step in self.frozen if isinstance(step, nn.Module)]

    def eval(self) -> None:
        """Keep the frozen layers in eval mode (their BatchNorm statistics fixed)."""
        for _, module in self.modules():
            module.eval()

    def features(self, images: Tensor) -> Tensor:
        """The frozen layers' float32, channels-last output for an image batch."""
        x = images.contiguous(memory_format=torch.channels_last)
        bf16 = native_bf16(x.device.type)
        with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            for _, step in self.frozen:
                x = step(x)
        return x.float()

    def rest(self, features: Tensor) -> Tensor:
        """The body's output from the frozen layers' output."""
        for _, step in self.rest_steps:
            features = step(features)
        return features

    def digest(self, device_type: str) -> str:
        """What ``features`` depends on beside its input: the frozen weights and statistics,
        and whether ``device_type`` computes them in bf16."""
        digest = hashlib.sha256(f"bf16={native_bf16(device_type)}".encode())
        for name, module in self.modules():
            for key, tensor in module.state_dict().items():
                digest.update(f"{name}.{key}".encode())
                digest.update(tensor.detach().cpu().numpy().tobytes())
        return digest.hexdigest()[:20]


def frozen_split(body: nn.Module, mode: str) -> FrozenSplit | None:
    """The split ``model.freeze_mode=mode`` runs ``body`` as (None for ``train``), checked:
    the frozen parameters (``requires_grad`` off) must be exactly those of the body's first
    steps."""
    if mode not in FREEZE_MODES:
        raise ValueError(f"model.freeze_mode={mode!r}; valid choices: {', '.join(FREEZE_MODES)}")
    if mode == "train":
        return None
    steps = body.steps() if hasattr(body, "steps") else None
    if steps is None:
        raise ValueError(
            f"model.freeze_mode={mode} works with ResNets, the simple CNNs and timm's "
            "EfficientNets (Lite0-2); set model.freeze_mode=train"
        )
    counts = [_frozen_count(step) for step in steps]
    first = next((i for i, (frozen, n) in enumerate(counts) if frozen < n), len(steps))
    late = [steps[i][0] for i in range(first, len(steps)) if counts[i][0]]
    named = [name for (name, _), (_, n) in zip(steps, counts, strict=True) if n]
    if late:
        raise ValueError(
            f"model.freeze_mode={mode} needs model.freeze to name the backbone's first layers "
            f"in order ({', '.join(named[:6])}, ...), but a trainable layer comes before "
            f"{', '.join(late)}; freeze it too, or set model.freeze_mode=train"
        )
    if not any(n for _, n in counts[:first]):
        raise ValueError(
            f"model.freeze_mode={mode} needs frozen layers: set model.freeze (e.g. "
            f"[{', '.join(named[:2])}]) or model.freeze_mode=train"
        )
    return FrozenSplit(steps[:first], steps[first:])
