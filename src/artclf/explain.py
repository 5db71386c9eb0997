"""``python -m artclf.explain ckpt_path=... input=IMAGE_OR_DIR [method=gradcam|ig|occlusion]``:
attribution maps overlaid on the images, one PNG per image, also logged to MLflow (a new run
tagged with the checkpoint's training run). The work is ``artclf.evaluation.explanations``'.
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig

from artclf.evaluation.explanations import write_overlays
from artclf.inference.classifier import image_paths, load_module, read_as_trained
from artclf.runtime.cli import run_or_exit
from artclf.runtime.preflight import check_writable_dir
from artclf.tracking.derived import log_derived_results
from artclf.tracking.sources import resolve_ckpt_option

log = logging.getLogger(__name__)


def explain(cfg: DictConfig) -> list[Path]:
    """Write one overlay PNG per input image (image | attribution of the predicted class, or
    of ``target`` when given); return their paths."""
    out_dir = check_writable_dir(cfg.output_dir, "output_dir")
    resolve_ckpt_option(cfg)
    module = load_module(cfg.ckpt_path)
    paths, images = read_as_trained(module, image_paths(cfg.input), cfg.get("resize"))
    method, task, target = str(cfg.method), cfg.get("task"), cfg.get("target")
    written = write_overlays(module, paths, images, out_dir, method, task, target)
    if cfg.logger.enabled:  # the overlays as artifacts of a run linked to the training's
        log_derived_results(cfg, cfg.ckpt_path, {}, out_dir, artifact_path="explain")
    log.info("wrote %d %s overlays to %s", len(written), cfg.method, out_dir)
    return written


@hydra.main(version_base="1.3", config_path="conf", config_name="explain")
def main(cfg: DictConfig) -> int:
    """The number of overlays written (a sweep's jobs report it)."""
    return len(run_or_exit(explain, cfg))


if __name__ == "__main__":
    main()
