"""Inference rows: precision and layout variants, batched Grad-CAM against one image per call,
and the web app's per-image latency against predict's bare work."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import TASK, Row, small_model, small_model_cfg, throughput


def inference_row(arch: str, image_size: int, seconds: float, batch: int = 32) -> Row:
    """bf16 autocast + channels_last (what predict/evaluate use on CUDA) vs plain fp32."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = small_model(arch, image_size).eval().to(device)
    images = torch.randn(batch, 3, image_size, image_size, device=device)

    @torch.inference_mode()
    def fp32() -> int:
        model(images)
        return batch

    fast_model = small_model(arch, image_size).eval().to(device, memory_format=torch.channels_last)
    fast_images = images.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def bf16() -> int:
        with torch.autocast(device, dtype=torch.bfloat16):
            fast_model(fast_images)
        return batch

    baseline = throughput(fp32, seconds)
    return Row(
        f"infer {arch} {image_size}² bf16+channels_last",
        throughput(bf16, seconds),
        baseline,
        "fp32",
    )


def gradcam_row(arch: str, image_size: int, seconds: float, batch: int = 16) -> Row:
    """Grad-CAM maps as ``explain`` makes them (captum, batches of ``batch``) vs one image
    per call, the usual notebook loop; same network, images and targets."""
    from artclf.evaluation.attributions import attribute, explainable_copy

    net = explainable_copy(small_model(arch, image_size))
    images = torch.randn(batch, 3, image_size, image_size)
    targets = torch.randint(0, 20, (batch,))

    def batched() -> int:
        attribute(net, images, targets)
        return batch

    def one_by_one() -> int:
        for i in range(batch):
            attribute(net, images[i : i + 1], targets[i : i + 1])
        return batch

    return Row(
        f"Grad-CAM {arch} {image_size}², batches of {batch}",
        throughput(batched, seconds, warmup=1),
        throughput(one_by_one, seconds, warmup=1),
        "one image per call",
    )


def app_latency_rows(arch: str, image_size: int, count: int = 30) -> list[Row]:
    """Milliseconds per image through the web app's classify path (decode, top-5, the class
    ranking, and optionally the Grad-CAM overlay), p50 and p95, beside the bare work of
    ``artclf.predict`` per image (decode + ``rank``) on the same images and model."""
    import tempfile

    import numpy as np
    from PIL import Image

    from artclf.app.classify import classify, gradcam_overlay
    from artclf.inference.classifier import rank, read_square_batch
    from artclf.models.module import ClassificationModule

    module = ClassificationModule(
        model=small_model_cfg(arch, image_size),
        class_names={TASK: [f"class{i}" for i in range(20)]},
        optim={"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3},
    ).eval()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(count):
            paths.append(Path(folder) / f"{i}.jpg")
            Image.fromarray(rng.integers(0, 255, (320, 256, 3), dtype=np.uint8)).save(paths[-1])

        def latencies(step: Callable[[Path], Any]) -> np.ndarray:
            step(paths[0])  # warm-up
            times = []
            for path in paths:
                start = time.perf_counter()
                step(path)
                times.append((time.perf_counter() - start) * 1000)
            return np.array(times)

        def bare(path: Path) -> Any:
            return rank(module, read_square_batch([path], image_size)[1])

        def app(path: Path) -> Any:
            return classify(module, path)

        def app_gradcam(path: Path) -> Any:
            result = classify(module, path)
            return gradcam_overlay(module, result, path, result.classes[0])

        base, plain, cam = latencies(bare), latencies(app), latencies(app_gradcam)
    rows = []
    for q in (50, 95):
        for label, values in (("Grad-CAM off", plain), ("Grad-CAM on", cam)):
            rows.append(
                Row(
                    f"app classify {arch} {image_size}², {label}, p{q} latency",
                    float(np.percentile(values, q)),
                    float(np.percentile(base, q)),
                    "predict's decode + rank",
                    unit="ms",
                )
            )
    return rows
