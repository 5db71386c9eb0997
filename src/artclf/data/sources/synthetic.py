"""The embedded default dataset as a source: ``prepare`` paints it under the root from a seed
(``artclf.data.synthetic``), and it is read with the AI-ArtBench reader whose layout it copies."""

from __future__ import annotations

from artclf.data.sources.ai_artbench import scan
from artclf.data.synthetic import generate as prepare

__all__ = ["prepare", "scan"]
