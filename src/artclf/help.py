"""What ``--help`` lists: the config groups a command composes, with their options.

Hydra's default help lists every group folder under ``conf/``, so ``describe --help``
offered ``optim`` and ``debug``, which it ignores. A command's groups are the ones its own
entry config names in its defaults list (``conf/hydra/help/artclf.yaml`` calls this through
the ``artclf_groups`` resolver).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from artclf.config import CONFIG_DIR


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
