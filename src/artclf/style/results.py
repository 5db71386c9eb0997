"""What every style-transfer method leaves behind: its images and grids logged to the run,
the mean of each metric over the image pairs, and those means written beside the results."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch

from artclf.style import image_io as io
from artclf.tracking import log_metrics
from artclf.tracking.images import log_images

log = logging.getLogger("artclf.stylize")


def log_outputs(run_id: str, paths: list[Path], grid: torch.Tensor, name: str) -> None:
    """The saved files and the ``grid`` tensor of the output ``name`` (``tracking.images``)."""
    log_images(run_id, paths, io.to_pil(grid.cpu()), name)


def mean(rows: list[dict[str, float]]) -> dict[str, float]:
    """``final/<metric>``: each metric's mean over the rows that have it."""
    keys = [k for k in rows[0] if all(r.get(k) is not None for r in rows)]
    return {f"final/{k}": sum(r[k] for r in rows) / len(rows) for k in keys}


def finish(
    run, run_dir: Path, final: dict[str, float], pairs: list[dict] | None = None
) -> dict[str, float]:
    """Write the means (and each pair's row, for side-by-side comparisons) and log them."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(final, indent=2))
    if pairs:
        (run_dir / "pairs.json").write_text(json.dumps(pairs, indent=2))
    if run is not None:
        log_metrics(run.info.run_id, final)
    log.info("%s; run folder %s", ", ".join(f"{k}={v:.4g}" for k, v in final.items()), run_dir)
    return final
