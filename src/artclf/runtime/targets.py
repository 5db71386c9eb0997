"""Which ``_target_``s may be built: only those the suite's own configs name.

Hydra's ``instantiate`` imports and calls whatever a ``_target_`` names. A config that comes
from a file (a checkpoint's hyper-parameters, shared by URL) is data, and data must not name
code: ``{_target_: pandas.read_pickle, filepath_or_buffer: http://…}`` in a checkpoint's
optimiser settings would run a payload on resume. So before anything is instantiated from such
a config, every ``_target_`` in it, at any depth, is checked against the allow-list: the
``_target_`` values in ``conf/`` (the optimisers, schedulers, callbacks and data modules the
suite itself writes). Anything else is refused in one line, before its module is imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import yaml

from artclf.runtime.config import CONFIG_DIR


class UntrustedTarget(ValueError):
    """A config names code the suite does not build."""


@cache
def allowed_targets() -> frozenset[str]:
    """Every ``_target_`` the suite's configs name (``conf/**/*.yaml``)."""
    found: set[str] = set()
    for file in CONFIG_DIR.rglob("*.yaml"):
        for target in _targets(yaml.safe_load(file.read_text())):
            found.add(target[1])
    return frozenset(found)


def _targets(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(where, target) of every ``_target_`` string under ``node``."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key == "_target_" and value is not None:
                yield where, str(value)
            else:
                yield from _targets(value, where)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _targets(value, f"{path}[{i}]")


def check_targets(node: Any, source: str) -> None:
    """Refuse ``node`` (a plain config tree read from ``source``) when any ``_target_`` in it
    is not one the suite writes."""
    allowed = allowed_targets()
    for where, target in _targets(node):
        if target not in allowed:
            raise UntrustedTarget(
                f"{source} names code to run ({where}={target}); a checkpoint or config file is "
                "data and only the suite's own targets are built. Use a checkpoint that artclf "
                "training wrote, or pass the setting on the command line"
            )
