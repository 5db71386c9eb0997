"""The work of ``python -m artclf.stylize``: Gatys style transfer of every content image with
every style, or a trained CycleGAN generator applied to images (``ckpt_path=``), or an AdaIN
decoder (``method=adain``, ``artclf.style.feedforward``); each result and a content | style |
result grid saved in the run folder and logged to the run with the losses and SSIM/LPIPS.

Runs on the device of the one device policy (``artclf.runtime.devices``), in float32.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import torch
from omegaconf import DictConfig

from artclf.runtime.devices import device_policy, synchronize
from artclf.runtime.progress import ProgressReporter, progress, shown_values
from artclf.style import TransferSettings, build_feature_taps, transfer
from artclf.style import image_io as io
from artclf.style.errors import StyleTransferError
from artclf.style.methods import method_of
from artclf.style.metrics import lpips, ssim
from artclf.style.results import finish, log_outputs, mean
from artclf.tracking import start_run
from artclf.tracking.derived import derived_run
from artclf.tracking.images import run_key
from artclf.tracking.metrics import log_history
from artclf.tracking.queries import connect

log = logging.getLogger("artclf.stylize")


def settings_from(cfg: DictConfig) -> TransferSettings:
    return TransferSettings(
        steps=int(cfg.steps),
        optimizer=str(cfg.optimizer),
        lr=None if cfg.lr is None else float(cfg.lr),
        style_weight=float(cfg.style_weight),
        content_weight=float(cfg.content_weight),
        tv_weight=float(cfg.tv_weight),
        init=str(cfg.init),
        preserve_colour=bool(cfg.preserve_colour),
        seed=None if cfg.get("seed") is None else int(cfg.seed),
    )


def check_size(cfg: DictConfig) -> None:
    """Refuse, before any work, a size whose memory would get the process killed silently."""
    size, largest = cfg.size, int(cfg.get("max_size", 2048))
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= largest:
        raise StyleTransferError(
            f"size={size!r}; must be an integer from 1 to max_size={largest} (memory grows "
            "with size²); lower size, or raise max_size on a machine with the memory"
        )


def stylize(cfg: DictConfig) -> dict[str, float]:
    """Run the configured style transfer; return the final metrics (means over image pairs)."""
    check_size(cfg)
    return method_of(cfg).run(cfg)


def gatys(cfg: DictConfig) -> dict[str, float]:
    """Every ``cfg.content`` image stylised with every ``cfg.style`` image."""
    contents = io.expand_sources(cfg.content, "content") if cfg.content else []
    styles = io.expand_sources(cfg.style, "style") if cfg.style else []
    if not contents or not styles:
        raise StyleTransferError(
            "pass content=IMAGE and style=IMAGE (files or folders), or ckpt_path=CKPT input=IMAGES"
        )
    settings = settings_from(cfg)
    if cfg.get("seed") is not None:
        torch.manual_seed(int(cfg.seed))
    device = device_policy().device
    bb = cfg.backbone
    taps = build_feature_taps(bb.name, bb.content_layers, bb.style_layers, bb.pretrained)
    taps = taps.to(device)
    run_dir = Path(cfg.paths.run_dir)
    todo = [(c, s) for c in contents for s in styles]  # every content with every style
    several = len(todo) > 1
    rows: list[dict[str, float]] = []
    pairs: list[dict] = []
    with start_run(cfg) as run:
        for content_src, style_src in progress(todo, "stylize", unit="pairs"):
            content = io.read_image_tensor(content_src, int(cfg.size))
            style = io.fit_to(io.read_image_tensor(style_src), *content.shape[-2:])
            name = f"{io.source_name(content_src)}__{io.source_name(style_src)}"
            started = time.perf_counter()
            steps = ProgressReporter(name, settings.steps, every_seconds=10)
            result = transfer(taps, content.to(device), style.to(device), settings, steps.report)
            synchronize(device)
            seconds = time.perf_counter() - started
            image = result.image.cpu()
            grid = io.grid([content, style, image])
            files = [
                io.save(image, run_dir / f"{name}.png"),
                io.save(grid, run_dir / f"{name}_grid.png"),
            ]
            row = {
                "style_loss": result.style_loss,
                "content_loss": result.content_loss,
                "ssim": ssim(image, content),
                "lpips": lpips(image, content),
                "seconds_per_image": seconds,
            }
            rows.append(row)
            pairs.append({"name": name, "content": content_src, "style": style_src, **row})
            log.info("%s: %s", name, shown_values(row))
            if run is not None:
                prefix = f"{run_key(name)}/" if several else ""
                log_history(run.info.run_id, result.history, f"{prefix}loss/")
                log_outputs(run.info.run_id, files, grid, name)
        return finish(run, run_dir, mean(rows), pairs)


def translate(cfg: DictConfig) -> dict[str, float]:
    """Apply a trained CycleGAN generator (a checkpoint or ``models:/<name>@<alias>``) to
    ``cfg.input`` images (``cfg.direction``)."""
    from artclf.style.cyclegan import load_generator
    from artclf.style.cyclegan.apply import translate as apply_generator
    from artclf.tracking.sources import resolve_ckpt_option

    if not cfg.get("ckpt_path"):
        raise StyleTransferError(
            "method=cyclegan needs ckpt_path=CKPT (of experiment=cyclegan_monet) or "
            "ckpt_path=models:/<name>@<alias>"
        )
    connect(cfg.logger.get("tracking_uri"))  # the store a models:/ URI is looked up in
    resolve_ckpt_option(cfg)  # models:/<name>@<alias>: the registered version's checkpoint
    generator = load_generator(str(cfg.ckpt_path), str(cfg.direction))
    if not cfg.get("input"):
        raise StyleTransferError("CycleGAN mode needs input=IMAGE_OR_FOLDER to translate")
    inputs = io.expand_sources(cfg.input, "input")
    device = device_policy().device
    generator = generator.to(device)
    run_dir = Path(cfg.paths.run_dir)
    seconds: list[float] = []
    with derived_run(cfg, cfg.ckpt_path) as run:
        for source in progress(inputs, "stylize"):
            image = io.read_image_tensor(source, int(cfg.size))
            started = time.perf_counter()
            output = apply_generator(generator, image.to(device)).cpu()  # .cpu() waits for it
            seconds.append(time.perf_counter() - started)
            name = f"{io.source_name(source)}__{cfg.direction}"
            grid = io.grid([image, output])
            files = [
                io.save(output, run_dir / f"{name}.png"),
                io.save(grid, run_dir / f"{name}_grid.png"),
            ]
            if run is not None:
                log_outputs(run.info.run_id, files, grid, name)
        final = {"final/seconds_per_image": sum(seconds) / len(seconds)}
        return finish(run, run_dir, final)
