"""``python -m artclf.describe data=<name> data.root=PATH``: what a download holds, as the
training run will see it — the first thing to run on a new download.

Prints the classes in index order, images per class per split, class weights when used,
skipped files by reason and the readers' warnings; ``output=json`` prints one JSON object.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

import hydra
from omegaconf import DictConfig
from rich.console import Console

from artclf.data.overview import data_overview, print_table
from artclf.data.spec import DataSpec
from artclf.runtime.cli import run_or_exit

OUTPUTS = ("table", "json")


def describe(cfg: DictConfig) -> dict[str, Any]:
    """The overview of ``cfg.data`` (``artclf.data.overview``)."""
    return data_overview(DataSpec.from_config(cfg.data))


def run(cfg: DictConfig) -> dict[str, Any]:
    """Describe and print; stdout carries the report only (progress bars go to stderr)."""
    if cfg.output not in OUTPUTS:
        raise ValueError(f"unknown output {cfg.output!r}; valid choices: {', '.join(OUTPUTS)}")
    with contextlib.redirect_stdout(sys.stderr):
        report = describe(cfg)
    if cfg.output == "json":
        print(json.dumps(report, ensure_ascii=False))
    else:
        print_table(report, Console())
    return report


@hydra.main(version_base="1.3", config_path="conf", config_name="describe")
def main(cfg: DictConfig) -> None:
    run_or_exit(run, cfg)


if __name__ == "__main__":
    main()
