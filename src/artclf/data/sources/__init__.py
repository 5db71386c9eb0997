"""Dataset readers, one module per on-disk layout; each exposes
``scan(root, layout="auto", cache_dir=None) -> Scan``. ``cache_dir`` is where a reader may put
files it derives from the download (images extracted from parquet), never the download itself.
A source that makes its own data (``synthetic``) also exposes ``prepare(root, **params)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from artclf.data.sources.base import DatasetLayoutError, Scan

#: data.source values and the module that reads each layout.
SOURCES = ("ai_artbench", "wikiart", "best_artworks", "artstation", "synthetic")

__all__ = ["SOURCES", "DatasetLayoutError", "Scan", "get_scanner", "prepare_source"]


def get_scanner(name: str) -> Callable[..., Scan]:
    """The ``scan`` function of the reader called ``name``."""
    if name not in SOURCES:
        raise ValueError(f"unknown data.source {name!r}; valid choices: {', '.join(SOURCES)}")
    return importlib.import_module(f"artclf.data.sources.{name}").scan


def prepare_source(root: str, params: Mapping | None) -> None:
    """The synthetic source's preparation: generate under ``root`` (once; later calls find
    it). The ``data.synthetic`` block asks for it, whatever the source is called: checkpoints
    written before the ``synthetic`` source existed store ``source: ai_artbench`` with it."""
    if params is None:
        return
    from artclf.data.sources.synthetic import prepare

    prepare(root, **params)
