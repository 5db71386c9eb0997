"""Attribution maps with captum: Grad-CAM on the backbone's ``cam_layer`` (the default),
Integrated Gradients and Occlusion. Maps come back as ``N×H×W`` in [0, 1] at image size,
ready to overlay on the de-normalised images."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients, LayerGradCam, Occlusion
from torch import Tensor, nn

METHODS = ("gradcam", "ig", "occlusion")


def explainable_copy(net: nn.Module) -> nn.Module:
    """A copy safe for captum: in-place activations (torchvision's ReLU, timm's) would
    overwrite the tensors captum hooks into, so they are switched off; every parameter
    requires grad so frozen layers still pass gradients to Grad-CAM's layer, and frozen
    layers run as inference (``model.freeze_mode``, without autograd) run as plain layers."""
    twin = copy.deepcopy(net).eval()
    if getattr(twin, "frozen", None) is not None:
        twin.frozen = None
    for module in twin.modules():
        if isinstance(getattr(module, "inplace", None), bool):
            module.inplace = False
    twin.requires_grad_(True)
    return twin


def task_forward(net: nn.Module, task: str | None) -> Callable[[Tensor], Tensor]:
    """The logits of one task (the first when ``task`` is None) of a network that returns
    ``{task: logits}``."""

    def forward(images: Tensor) -> Tensor:
        out = net(images)
        return out[task or next(iter(out))]

    return forward


def _unit(maps: Tensor) -> np.ndarray:
    """Each map scaled to [0, 1] by its own maximum (negative evidence clipped)."""
    maps = maps.detach().clamp(min=0)
    peak = maps.flatten(1).amax(dim=1).clamp(min=1e-12).view(-1, 1, 1)
    return (maps / peak).cpu().numpy()


def attribute(
    net: nn.Module,
    images: Tensor,
    targets: Tensor,
    method: str = "gradcam",
    task: str | None = None,
    ig_steps: int = 32,
) -> np.ndarray:
    """Attribution of ``targets`` (class indices) for normalised ``images``; ``net`` should
    come from ``explainable_copy`` and carry a ``cam_layer`` for Grad-CAM."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid choices: {', '.join(METHODS)}")
    forward = task_forward(net, task)
    height, width = images.shape[-2:]
    if method == "gradcam":
        layer = net.get_submodule(net.cam_layer)
        cam = LayerGradCam(forward, layer).attribute(images, target=targets, relu_attributions=True)
        maps = F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)
        return _unit(maps[:, 0])
    if method == "ig":
        baseline = torch.zeros_like(images)
        maps = IntegratedGradients(forward).attribute(
            images, baselines=baseline, target=targets, n_steps=ig_steps, internal_batch_size=16
        )
        return _unit(maps.abs().sum(dim=1))
    window = max(4, height // 8)
    stride = max(2, window // 2)
    maps = Occlusion(forward).attribute(
        images,
        target=targets,
        sliding_window_shapes=(3, window, window),
        strides=(3, stride, stride),
        baselines=0.0,
        perturbations_per_eval=16,
    )
    return _unit(maps.sum(dim=1))
