"""Module paths from before the package was laid out in rooms, still importable.

What the suite stored before the move names today's modules by their old paths: an MLflow
model logged "from code" runs a file that imports ``artclf.tracking.pyfunc_model``, and a
user's script may import ``artclf.checkpoints``. (``artclf.inference`` names a package now;
its functions are in ``artclf.inference.classifier``.) ``install`` (called by ``artclf/__init__``)
puts a finder first on ``sys.meta_path`` that answers each old path with the module now
holding its code, so those files load unchanged. New code imports the new paths.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

#: old module path -> the module that holds its code now
MOVED: dict[str, str] = {
    "artclf.attributions": "artclf.evaluation.attributions",
    "artclf.callbacks": "artclf.training.callbacks",
    "artclf.checkpoints": "artclf.weights.checkpoints",
    "artclf.cli": "artclf.runtime.cli",
    "artclf.comparison": "artclf.evaluation.comparison",
    "artclf.config": "artclf.runtime.config",
    "artclf.devices": "artclf.runtime.devices",
    "artclf.distributed": "artclf.runtime.distributed",
    "artclf.ensemble": "artclf.inference.ensemble",
    "artclf.explanations": "artclf.evaluation.explanations",
    "artclf.finite": "artclf.training.finite",
    "artclf.fit": "artclf.training.fit",
    "artclf.help": "artclf.runtime.config",
    "artclf.leaderboard": "artclf.reporting.leaderboard",
    "artclf.memory": "artclf.runtime.memory",
    "artclf.models.adain": "artclf.style.adain_model",
    "artclf.models.adain_pyfunc": "artclf.publishing.adain",
    "artclf.models.adain_pyfunc_code": "artclf.publishing.adain_code",
    "artclf.models.cyclegan": "artclf.style.cyclegan",
    "artclf.models.cyclegan.apply": "artclf.style.cyclegan.apply",
    "artclf.models.cyclegan.build": "artclf.style.cyclegan.build",
    "artclf.models.cyclegan.features": "artclf.style.cyclegan.features",
    "artclf.models.cyclegan.loader": "artclf.style.cyclegan.loader",
    "artclf.models.cyclegan.module": "artclf.style.cyclegan.module",
    "artclf.models.cyclegan.networks": "artclf.style.cyclegan.networks",
    "artclf.models.cyclegan.pool": "artclf.style.cyclegan.pool",
    "artclf.models.cyclegan.pyfunc": "artclf.publishing.cyclegan",
    "artclf.models.cyclegan.pyfunc_code": "artclf.publishing.cyclegan_code",
    "artclf.models.ema": "artclf.training.ema",
    "artclf.models.finetune": "artclf.training.finetune",
    "artclf.models.tta": "artclf.inference.tta",
    "artclf.preflight": "artclf.runtime.preflight",
    "artclf.pretrained": "artclf.weights.pretrained",
    "artclf.progress": "artclf.runtime.progress",
    "artclf.quiet": "artclf.runtime.quiet",
    "artclf.report_tables": "artclf.reporting.tables",
    "artclf.reports": "artclf.evaluation.figures",
    "artclf.resume": "artclf.training.resume",
    "artclf.stylize_adain": "artclf.style.feedforward",
    "artclf.stylizing": "artclf.style.stylizing",
    "artclf.sweep_report": "artclf.reporting.run_report",
    "artclf.tasks": "artclf.training.tasks",
    "artclf.threads": "artclf.runtime.threads",
    "artclf.tracking.callbacks": "artclf.training.report_callbacks",
    "artclf.tracking.publish": "artclf.publishing.publish",
    "artclf.tracking.pyfunc_code": "artclf.publishing.classifier_code",
    "artclf.tracking.pyfunc_model": "artclf.publishing.classifier",
    "artclf.tracking.sweep": "artclf.training.sweep_end",
    "artclf.tuning": "artclf.training.tuning",
    "artclf.validation": "artclf.training.validation",
    "artclf.weights_reach": "artclf.weights.reach",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module ran when it was imported under its own name."""


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        return None if new is None else importlib.machinery.ModuleSpec(fullname, _Alias(new))


def install() -> None:
    """Make every old path in ``MOVED`` importable (once per process)."""
    if not any(isinstance(finder, _MovedFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _MovedFinder())
