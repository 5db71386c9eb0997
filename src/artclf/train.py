"""``python -m artclf.train``: fit, test the best checkpoint, track everything in MLflow.

Entry points stay thin: ``main`` composes the config, ``artclf.training.fit.train(cfg)`` does
the work and returns the optimised metric (so Optuna and tests can call it directly).
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit
from artclf.training.fit import train

__all__ = ["main", "train"]


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float:
    return run_or_exit(train, cfg)


if __name__ == "__main__":
    main()
