"""OmegaConf resolvers and config helpers shared by every entry point.

Importing this module registers the resolvers; ``artclf/__init__`` does so, so any
``compose``/``hydra.main`` over ``artclf/conf`` can use them.

``--help`` lists the config groups a command composes, with their options. Hydra's default
help lists every group folder under ``conf/``, so ``describe --help`` offered ``optim`` and
``debug``, which it ignores. A command's groups are the ones its own entry config names in its
defaults list (``conf/hydra/help/artclf.yaml`` calls ``groups_help`` through the
``artclf_groups`` resolver).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

CONFIG_DIR = Path(__file__).parent.parent / "conf"


def device_precision() -> str:
    """Training precision of the device policy (``artclf.runtime.devices``)."""
    from artclf.runtime.devices import device_policy

    return device_policy().precision


def command_groups(config_name: str, config_dir: Path = CONFIG_DIR) -> list[str]:
    """Groups in the defaults list of ``<config_name>.yaml`` (Hydra's own overrides left out)."""
    entry = yaml.safe_load((config_dir / f"{config_name}.yaml").read_text()) or {}
    groups = []
    for item in entry.get("defaults", []):
        if isinstance(item, dict):
            key = next(iter(item)).removeprefix("optional ").strip()
            if not key.startswith(("override ", "hydra/")):
                groups.append(key)
    return groups


def groups_help(config_name: str, config_dir: Path = CONFIG_DIR) -> str:
    """``group: option, option`` per line for ``--help``."""
    lines = []
    for group in command_groups(config_name, config_dir):
        options = sorted(p.stem for p in (config_dir / group).glob("*.yaml"))
        lines.append(f"{group}: {', '.join(options)}")
    return "\n".join(lines)


def register_resolvers() -> None:
    resolvers = {
        "abspath": lambda path: str(Path(path).expanduser().resolve()),
        "device_precision": device_precision,
        "artclf_groups": groups_help,  # --help: the command's own groups
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
