"""``python -m artclf.stylize``: Gatys style transfer (or a trained CycleGAN or AdaIN decoder,
``artclf.stylize_adain``) as an MLflow run.

``stylize(cfg)`` stylises every content image with every style, saves each result and a
content | style | result grid in the run folder, and logs the per-step losses, the final
style/content losses and SSIM/LPIPS to the content image. In a Hydra multirun each job is a
child run of one sweep run, so the MLflow UI compares the weight settings side by side.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import unicodedata
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from artclf.cli import run_or_exit
from artclf.progress import ProgressReporter
from artclf.style import TransferSettings, build_feature_taps, transfer
from artclf.style import image_io as io
from artclf.style.errors import StyleTransferError
from artclf.style.metrics import lpips, ssim
from artclf.tracking import start_run
from artclf.tracking.derived import derived_run

log = logging.getLogger(__name__)


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


def _log_history(run_id: str, history: list[dict[str, float]], prefix: str) -> None:
    """Every step's losses in a few batched requests (single log_metric calls are slow)."""
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    from artclf.tracking.retry import retry_locked

    now = int(time.time() * 1000)
    batch = [
        Metric(f"{prefix}loss/{name}", value, now, step)
        for step, parts in enumerate(history)
        for name, value in parts.items()
    ]
    client = MlflowClient()
    for start in range(0, len(batch), 1000):
        retry_locked(client.log_batch, run_id, metrics=batch[start : start + 1000])


def mlflow_key(name: str) -> str:
    """``name`` as MLflow accepts in metric and image keys (ASCII letters, digits, ``_-.``):
    accents folded, other characters replaced, and a short hash added where anything changed,
    so ``画.png`` and ``絵.png`` stay apart. The files on disk keep their own names."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", folded)
    if safe == name:
        return name
    return f"{safe}-{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def _log_images(run_id: str, paths: list[Path], grid: torch.Tensor, key: str) -> None:
    import mlflow

    for path in paths:
        mlflow.log_artifact(str(path), artifact_path="images", run_id=run_id)
    # Keyed images line up across the runs of a sweep in the UI's image comparison.
    mlflow.log_image(io.to_pil(grid), key=key, step=0)


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = [k for k in rows[0] if all(r.get(k) is not None for r in rows)]
    return {f"final/{k}": sum(r[k] for r in rows) / len(rows) for k in keys}


def _finish(
    run, run_dir: Path, final: dict[str, float], pairs: list[dict] | None = None
) -> dict[str, float]:
    """Write the means (and each pair's row, for side-by-side comparisons) and log them."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(final, indent=2))
    if pairs:
        (run_dir / "pairs.json").write_text(json.dumps(pairs, indent=2))
    if run is not None:
        from artclf.tracking import log_metrics

        log_metrics(run.info.run_id, final)
    log.info("%s; run folder %s", ", ".join(f"{k}={v:.4g}" for k, v in final.items()), run_dir)
    return final


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
    method = cfg.get("method", "gatys")
    if method == "adain":
        from artclf.stylize_adain import stylize_adain

        return stylize_adain(cfg)
    if method != "gatys":
        raise StyleTransferError(f"unknown method {method!r}; choose gatys or adain")
    if cfg.get("ckpt_path"):
        return translate(cfg)
    contents = io.expand_sources(cfg.content, "content") if cfg.content else []
    styles = io.expand_sources(cfg.style, "style") if cfg.style else []
    if not contents or not styles:
        raise StyleTransferError(
            "pass content=IMAGE and style=IMAGE (files or folders), or ckpt_path=CKPT input=IMAGES"
        )
    settings = settings_from(cfg)
    if cfg.get("seed") is not None:
        torch.manual_seed(int(cfg.seed))
    bb = cfg.backbone
    taps = build_feature_taps(bb.name, bb.content_layers, bb.style_layers, bb.pretrained)
    run_dir = Path(cfg.paths.run_dir)
    pairs = [(c, s) for c in contents for s in styles]
    rows: list[dict[str, float]] = []
    pairs_out: list[dict] = []
    with start_run(cfg) as run:
        for content_src in contents:
            content = io.read_image_tensor(content_src, int(cfg.size))
            for style_src in styles:
                style = io.fit_to(io.read_image_tensor(style_src), *content.shape[-2:])
                name = f"{io.source_name(content_src)}__{io.source_name(style_src)}"
                started = time.perf_counter()
                progress = ProgressReporter(name, settings.steps, every_seconds=10)
                result = transfer(taps, content, style, settings, progress.report)
                seconds = time.perf_counter() - started
                grid = io.grid([content, style, result.image])
                files = [
                    io.save(result.image, run_dir / f"{name}.png"),
                    io.save(grid, run_dir / f"{name}_grid.png"),
                ]
                row = {
                    "style_loss": result.style_loss,
                    "content_loss": result.content_loss,
                    "ssim": ssim(result.image, content),
                    "lpips": lpips(result.image, content),
                    "seconds_per_image": seconds,
                }
                rows.append(row)
                pairs_out.append({"name": name, "content": content_src, "style": style_src, **row})
                log.info("%s: %s", name, {k: v for k, v in row.items() if v is not None})
                if run is not None:
                    prefix = f"{mlflow_key(name)}/" if len(pairs) > 1 else ""
                    _log_history(run.info.run_id, result.history, prefix)
                    _log_images(run.info.run_id, files, grid, key=f"grid/{mlflow_key(name)}")
        return _finish(run, run_dir, _mean(rows), pairs_out)


def translate(cfg: DictConfig) -> dict[str, float]:
    """Apply a trained CycleGAN generator to ``cfg.input`` images (``cfg.direction``)."""
    from artclf.models.cyclegan import load_generator

    generator = load_generator(str(cfg.ckpt_path), str(cfg.direction))
    if not cfg.get("input"):
        raise StyleTransferError("CycleGAN mode needs input=IMAGE_OR_FOLDER to translate")
    inputs = io.expand_sources(cfg.input, "input")
    run_dir = Path(cfg.paths.run_dir)
    seconds: list[float] = []
    with derived_run(cfg, cfg.ckpt_path) as run:
        for source in inputs:
            image = io.read_image_tensor(source, int(cfg.size))
            started = time.perf_counter()
            with torch.no_grad():
                output = generator(image * 2 - 1).add(1).div(2).clamp(0, 1)
            seconds.append(time.perf_counter() - started)
            name = f"{io.source_name(source)}__{cfg.direction}"
            grid = io.grid([image, output])
            files = [
                io.save(output, run_dir / f"{name}.png"),
                io.save(grid, run_dir / f"{name}_grid.png"),
            ]
            if run is not None:
                _log_images(run.info.run_id, files, grid, key=f"grid/{mlflow_key(name)}")
        final = {"final/seconds_per_image": sum(seconds) / len(seconds)}
        return _finish(run, run_dir, final)


@hydra.main(version_base="1.3", config_path="conf", config_name="stylize")
def main(cfg: DictConfig) -> float:
    metrics = run_or_exit(stylize, cfg)
    return float(metrics.get(str(cfg.optimized.metric), float("nan")))


if __name__ == "__main__":
    main()
