"""``python -m artclf.stylize``: Gatys style transfer (or a trained CycleGAN or AdaIN decoder,
``artclf.style.feedforward``) as an MLflow run; the work is ``artclf.style.stylizing``'.

``stylize(cfg)`` stylises every content image with every style, saves each result and a
content | style | result grid in the run folder, and logs the per-step losses, the final
style/content losses and SSIM/LPIPS to the content image. In a Hydra multirun each job is a
child run of one sweep run, so the MLflow UI compares the weight settings side by side.
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from artclf.runtime.cli import run_or_exit
from artclf.style.stylizing import stylize

__all__ = ["main", "stylize"]


@hydra.main(version_base="1.3", config_path="conf", config_name="stylize")
def main(cfg: DictConfig) -> float:
    metrics = run_or_exit(stylize, cfg)
    return float(metrics.get(str(cfg.optimized.metric), float("nan")))


if __name__ == "__main__":
    main()
