"""``python -m artclf.stylize method=adain``: one forward pass per image with a trained AdaIN
decoder (``artclf.train experiment=adain``), from a checkpoint or a registered model: both go
in ``ckpt_path=`` (``model=`` is Hydra's model config group).

Every content image is stylised with every style, or, with ``style_weights``, once with the
styles' statistics mixed by those weights. Results are measured exactly as Gatys results are
(style and content loss on the ``backbone`` taps, SSIM/LPIPS to the content), so the two runs
compare pair by pair (``pairs.json``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from artclf.runtime.progress import shown_values
from artclf.style import build_feature_taps
from artclf.style import image_io as io
from artclf.style.colour import preserve_colour
from artclf.style.errors import StyleTransferError
from artclf.style.losses import content_loss, gram_matrix, style_loss
from artclf.style.metrics import lpips, ssim
from artclf.style.results import finish, log_outputs, mean
from artclf.tracking import start_run

log = logging.getLogger(__name__)


def _style_weights(cfg: DictConfig, n_styles: int) -> list[float] | None:
    weights = cfg.get("style_weights")
    if weights is None:
        return None
    weights = [float(w) for w in weights]
    if len(weights) != n_styles:
        raise StyleTransferError(
            f"style_weights has {len(weights)} entries for {n_styles} style images; give one "
            "weight per style, e.g. style=[a.jpg,b.jpg] style_weights=[0.7,0.3]"
        )
    return weights


def stylize_adain(cfg: DictConfig) -> dict[str, float]:
    """Stylise ``cfg.content`` with ``cfg.style``; return the mean metrics over the outputs."""
    from artclf.style.adain_model import load_adain
    from artclf.tracking.queries import connect

    source = cfg.get("ckpt_path")
    if not source:
        raise StyleTransferError(
            "the AdaIN method needs a trained decoder: ckpt_path=models:/adain@champion, or "
            "ckpt_path=CKPT of a run of `python -m artclf.train experiment=adain`"
        )
    if not cfg.content or not cfg.style:
        raise StyleTransferError("pass content=IMAGE_OR_FOLDER and style=IMAGE_OR_FOLDER")
    contents = io.expand_sources(cfg.content, "content")
    styles = io.expand_sources(cfg.style, "style")
    weights = _style_weights(cfg, len(styles))
    alpha = float(cfg.alpha)
    connect(cfg.logger.get("tracking_uri"))  # the store a models:/ URI is looked up in
    net = load_adain(str(source))
    bb = cfg.backbone  # the metric: the same taps Gatys is measured with
    taps = build_feature_taps(bb.name, bb.content_layers, bb.style_layers, bb.pretrained)
    groups = [styles] if weights else [[s] for s in styles]
    run_dir = Path(cfg.paths.run_dir)
    rows, pairs = [], []
    with start_run(cfg) as run, torch.no_grad():
        for content_src in contents:
            content = net.fit_size(io.read_image_tensor(content_src, int(cfg.size)))
            for group in groups:
                style_images = [
                    io.fit_to(io.read_image_tensor(s), *content.shape[-2:]) for s in group
                ]
                started = time.perf_counter()
                output = net(content, style_images, alpha, weights).clamp(0, 1)
                if cfg.preserve_colour:
                    output = preserve_colour(output, content)
                seconds = time.perf_counter() - started
                features = taps(output)
                content_features = taps(content)
                style_name = "mix" if weights else io.source_name(group[0])
                name = f"{io.source_name(content_src)}__{style_name}"
                row = {
                    "content_loss": content_loss(
                        features, content_features, taps.content_layers
                    ).item(),
                    "ssim": ssim(output, content),
                    "lpips": lpips(output, content),
                    "seconds_per_image": seconds,
                }
                if not weights:  # a mix has no single style to measure against
                    grams = {k: gram_matrix(v) for k, v in taps(style_images[0]).items()}
                    row["style_loss"] = style_loss(features, grams, taps.style_layers).item()
                grid = io.grid([content, *style_images, output])
                files = [
                    io.save(output, run_dir / f"{name}.png"),
                    io.save(grid, run_dir / f"{name}_grid.png"),
                ]
                rows.append(row)
                style = group if weights else group[0]
                pairs.append({"name": name, "content": content_src, "style": style, **row})
                log.info("%s: %s", name, shown_values(row))
                if run is not None:
                    log_outputs(run.info.run_id, files, grid, name)
        return finish(run, run_dir, mean(rows), pairs)
