"""OmegaConf resolvers and config helpers shared by every entry point.

Importing this module registers the resolvers; ``artclf/__init__`` does so, so any
``compose``/``hydra.main`` over ``artclf/conf`` can use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

CONFIG_DIR = Path(__file__).parent / "conf"


def device_precision() -> str:
    """Training precision of the device policy (``artclf.devices``)."""
    from artclf.devices import device_policy

    return device_policy().precision


def _groups_help(config_name: str) -> str:
    from artclf.help import groups_help

    return groups_help(config_name)


def register_resolvers() -> None:
    resolvers = {
        "abspath": lambda path: str(Path(path).expanduser().resolve()),
        "device_precision": device_precision,
        "artclf_groups": _groups_help,  # --help: the command's own groups (artclf.help)
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)


def to_plain(cfg: DictConfig | dict | None) -> dict[str, Any]:
    """A resolved, plain-``dict`` copy: what checkpoints store (they load with weights_only)."""
    if cfg is None:
        return {}
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    return dict(cfg)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists stay values; ``_target_`` keys are dropped."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if str(key).startswith("_") and str(key).endswith("_"):
            continue
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            flat.update(flatten(value, name))
        else:
            flat[name] = value
    return flat
