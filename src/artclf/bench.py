"""``python -m artclf.bench`` (``make bench``): throughput beside a baseline measured in the
same process, so the ratio holds on a noisy shared machine. Prints a table, writes JSON.

Rows: the input pipeline (model-ready batches from our datamodule) against ImageFolder + PIL;
our Lightning training loop against a bare PyTorch loop on the same model and batches;
training end to end (real files, our datamodule and module) against the same model fed one
resident batch, the compute ceiling;
inference precision/layout variants; batched Grad-CAM against one image per call; Gatys
style transfer on Lite0 against VGG19 taps; AdaIN against Gatys, per image; the web app's
per-image latency (ms, lower is better) against predict's bare work on the same image;
training beside CPU hogs with artclf's thread policy against torch's defaults
(``--only contention`` runs just that).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import torch
from rich.console import Console
from rich.table import Table
from torch import nn

from artclf.memory import keep_freed_memory


@dataclass
class Row:
    name: str
    ours: float  # images/s
    baseline: float  # images/s
    baseline_name: str
    unit: str = "img/s"

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline if self.baseline else float("nan")


def throughput(step: Callable[[], int], seconds: float, warmup: int = 2) -> float:
    """Items per second of ``step`` (which returns how many items it processed)."""
    for _ in range(warmup):
        step()
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += step()
    return done / (time.perf_counter() - start)


def _model_cfg(arch: str, image_size: int) -> dict:
    pool = "flatten" if arch == "simple_cnn" else "avg"
    return {"arch": arch, "image_size": image_size, "pretrained": False, "pool": pool}


def _model(arch: str, image_size: int, num_classes: int = 20) -> nn.Module:
    from artclf.models.classifier import create_classifier

    return create_classifier(_model_cfg(arch, image_size), num_classes)


#: ``conf/aug/light.yaml``: what the input and end-to-end rows augment with.
LIGHT_AUG = {"hflip": 0.5, "vflip": 0.5, "rotation": 30.0}


def quiet_trainer(epochs: int, **options: Any) -> L.Trainer:
    """A Trainer that only trains: no logger, checkpoints, progress bar or summary."""
    return L.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        **options,
    )


def training_loop_row(arch: str, image_size: int, epochs: int, batch: int = 32) -> Row:
    """Our LightningModule under a Trainer vs a bare loop over the same network, batches and
    optimiser, each for ``epochs`` epochs: what the framework costs per image."""
    from torch.utils.data import DataLoader, TensorDataset

    from artclf.models.module import ClassificationModule

    images = torch.randn(16 * batch, 3, image_size, image_size)
    loader = DataLoader(TensorDataset(images, torch.randint(0, 20, (len(images),))), batch)
    optim = {"name": "sgd", "lr": 1e-3, "momentum": 0.9}
    classes = [str(i) for i in range(20)]

    def bare() -> float:
        net = _model(arch, image_size)
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        start = time.perf_counter()
        for _ in range(epochs):
            net.train()
            for x, y in loader:
                optimizer.zero_grad(set_to_none=True)
                loss_fn(net(x), y).backward()
                optimizer.step()
        return time.perf_counter() - start

    def lightning() -> float:
        module = ClassificationModule(_model_cfg(arch, image_size), classes, optim)
        trainer = quiet_trainer(epochs, accelerator="cpu", num_sanity_val_steps=0)
        start = time.perf_counter()
        trainer.fit(module, train_dataloaders=loader)
        return time.perf_counter() - start

    bare()  # warm up allocator and kernels for both
    n = epochs * len(images)
    baseline, ours = n / bare(), n / lightning()
    return Row(f"train {arch} {image_size}² (Lightning loop)", ours, baseline, "bare PyTorch loop")


def end_to_end_row(root: Path, arch: str, image_size: int, epochs: int = 1, batch: int = 64) -> Row:
    """Training images/s of the whole path, as ``artclf.train`` runs it (our datamodule over
    the class folders under ``root`` with the prepared cache and ``aug=light``, our
    LightningModule, the device's default precision), vs the same network and number of steps
    fed one batch already on the device: the compute ceiling. The cache is built beforehand."""
    import math
    import tempfile

    from artclf.config import device_precision
    from artclf.data.datamodule import ArtDataModule
    from artclf.models.module import ClassificationModule

    optim = {"name": "adam", "lr": 1e-3}
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = ArtDataModule(
            "artstation", str(root), "artist", image_size, batch_size=batch,
            val_fraction=0.0, test_fraction=0.0, cache_dir=scratch, augment=LIGHT_AUG,
        )  # fmt: skip
        datamodule.setup("fit")
        classes = datamodule.classes
        module = ClassificationModule(_model_cfg(arch, image_size), classes, optim)
        trainer = quiet_trainer(
            epochs, devices=1, precision=device_precision(), limit_val_batches=0
        )
        start = time.perf_counter()
        trainer.fit(module, datamodule=datamodule)
        elapsed = time.perf_counter() - start
    images = epochs * len(datamodule.datasets["train"])
    device = trainer.strategy.root_device
    net = _model(arch, image_size, len(classes)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, image_size, image_size, device=device)
    y = torch.randint(0, len(classes), (batch,), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = nn.functional.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    steps = math.ceil(images / batch)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    ceiling = steps * batch / (time.perf_counter() - start)
    name = f"train {arch} {image_size}² end to end ({root.name}, aug=light, {device.type})"
    return Row(name, images / elapsed, ceiling, "same model on one resident batch")


def inference_row(arch: str, image_size: int, seconds: float, batch: int = 32) -> Row:
    """bf16 autocast + channels_last (what predict/evaluate use on CUDA) vs plain fp32."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = _model(arch, image_size).eval().to(device)
    images = torch.randn(batch, 3, image_size, image_size, device=device)

    @torch.inference_mode()
    def fp32() -> int:
        model(images)
        return batch

    fast_model = _model(arch, image_size).eval().to(device, memory_format=torch.channels_last)
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


def input_pipeline_rows(
    roots: dict[str, Path], seconds: float, sizes: tuple[int, ...]
) -> list[Row]:
    """Our datamodule path (prepared cache, aug=light, model-ready float batches) vs
    ImageFolder + PIL + the same transforms, on the class folders of each root; the raw
    memory-mapped read (the ceiling) in the name."""
    from artclf.data.benchmark import measure_input_pipeline

    rows = []
    for label, root in roots.items():
        for size in sizes:
            m = measure_input_pipeline(root, size, LIGHT_AUG, seconds)
            name = (
                f"input {size}² aug=light, {label}, {m['images']} images "
                f"(memmap read ceiling {m['memmap_ceiling_img_s']:,})"
            )
            rows.append(Row(name, m["ours_img_s"], m["imagefolder_img_s"], "ImageFolder+PIL"))
    return rows


def image_roots(images: Path | None) -> dict[str, Path]:
    """Class folders for the input rows: ``--images``; else the real WikiArt sample
    (``$ARTCLF_REAL_DATA``, 224² JPEGs) when set, and AI-ArtBench-sized 256² JPEGs generated
    like the embedded dataset (what the human and LD images of AI-ArtBench are)."""
    import os

    if images is not None:
        return {images.name: images}
    roots = {}
    real = os.environ.get("ARTCLF_REAL_DATA")
    if real and (Path(real) / "wikiart").is_dir():
        roots["WikiArt sample 224² JPEG"] = Path(real) / "wikiart"
    from artclf.data.synthetic import generate

    cache = Path(os.environ.get("ARTCLF_CACHE", ".cache")) / "synthetic" / "bench256"
    generated = generate(cache, seed=0, train_per_class=50, test_per_class=1, size=256)
    roots["synthetic 256² JPEG"] = generated / "train"
    return roots


def gradcam_row(arch: str, image_size: int, seconds: float, batch: int = 16) -> Row:
    """Grad-CAM maps as ``explain`` makes them (captum, batches of ``batch``) vs one image
    per call, the usual notebook loop; same network, images and targets."""
    from artclf.attributions import attribute, explainable_copy

    net = explainable_copy(_model(arch, image_size))
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


def style_transfer_row(size: int, steps: int) -> Row:
    """Gatys transfer on EfficientNet-Lite0 taps (our offline default) vs the studies' VGG19
    taps, same images, optimiser and steps; images per minute (weights do not change speed)."""
    from artclf.style.backbones import build_feature_taps
    from artclf.style.engine import TransferSettings, transfer

    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=generator)
    style = torch.rand(1, 3, size, size, generator=generator)
    settings = TransferSettings(steps=steps)

    def per_minute(backbone: str) -> float:
        taps = build_feature_taps(backbone, pretrained=False)
        start = time.perf_counter()
        transfer(taps, content, style, settings)
        return 60.0 / (time.perf_counter() - start)

    return Row(
        f"stylize {size}² LBFGS {steps} steps, efficientnet_lite0",
        per_minute("efficientnet_lite0"),
        per_minute("vgg19"),
        "vgg19 taps",
        unit="img/min",
    )


def contention_rows(hogs: int, seconds: float) -> list[Row]:
    """Training beside ``hogs`` busy processes, with artclf's thread policy and with torch's
    defaults (each in a fresh process), and each one's slowdown over the fair share."""
    from artclf.contention import run_measurement

    ours, torch_defaults = (run_measurement(flag, hogs, seconds) for flag in (True, False))
    name = f"ResNet18 64² training beside {hogs} CPU hogs"
    baseline_name = "torch thread defaults"
    return [
        Row(name, ours["loaded_img_s"], torch_defaults["loaded_img_s"], baseline_name),
        Row(
            "  its slowdown ÷ the fair share (goal ≤ 1.5)",
            ours["slowdown"] / ours["fair_slowdown"],
            torch_defaults["slowdown"] / torch_defaults["fair_slowdown"],
            baseline_name,
            unit="×",
        ),
    ]


def adain_row(size: int, steps: int, seconds: float) -> Row:
    """Images per minute of AdaIN (one encoder + decoder pass, style statistics included)
    against Gatys on the same Lite0 taps (``steps`` LBFGS evaluations), same image pair;
    weights do not change either's speed, so both use untrained ones."""
    from artclf.models.adain import AdaINModule
    from artclf.style.backbones import build_feature_taps
    from artclf.style.engine import TransferSettings, transfer

    generator = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, size, size, generator=generator)
    style = torch.rand(1, 3, size, size, generator=generator)
    net = AdaINModule(pretrained=False).net.eval()

    def fast() -> int:
        with torch.no_grad():
            net(content, [style])
        return 1

    taps = build_feature_taps("efficientnet_lite0", pretrained=False)
    start = time.perf_counter()
    transfer(taps, content, style, TransferSettings(steps=steps))
    gatys = 60.0 / (time.perf_counter() - start)
    return Row(
        f"stylize {size}² AdaIN, efficientnet_lite0",
        60.0 * throughput(fast, seconds, warmup=1),
        gatys,
        f"Gatys LBFGS {steps} steps",
        unit="img/min",
    )


def app_latency_rows(arch: str, image_size: int, count: int = 30) -> list[Row]:
    """Milliseconds per image through the web app's classify path (decode, top-5, the class
    ranking, and optionally the Grad-CAM overlay), p50 and p95, beside the bare work of
    ``artclf.predict`` per image (decode + ``rank``) on the same images and model."""
    import tempfile

    import numpy as np
    from PIL import Image

    from artclf.app.classify import classify, gradcam_overlay
    from artclf.inference import read_square_batch
    from artclf.models.module import ClassificationModule
    from artclf.predict import rank

    module = ClassificationModule(
        model=_model_cfg(arch, image_size),
        class_names=[f"class{i}" for i in range(20)],
        optim={"name": "adam", "lr": 1e-3},
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


def machine() -> str:
    """The GPU, or the CPU model and torch's thread count: ratios are comparable only on one."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    cpuinfo = Path("/proc/cpuinfo")
    models = [
        line.split(":", 1)[1].strip()
        for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
        if line.startswith("model name")
    ]
    cpu = models[0] if models else platform.processor() or platform.machine()
    return f"CPU {cpu}, {torch.get_num_threads()} threads"


def run(seconds: float, quick: bool, roots: dict[str, Path]) -> list[Row]:
    root = next(iter(roots.values()))
    if quick:
        return [
            *input_pipeline_rows(roots, seconds, (32,)),
            training_loop_row("simple_cnn", 32, epochs=2),
            end_to_end_row(root, "simple_cnn", 32),
            inference_row("resnet18", 64, seconds),
            gradcam_row("resnet18", 64, seconds),
        ]
    # The GPU takes the studies' size; the CPU a size it trains in seconds.
    size = 224 if torch.cuda.is_available() else 64
    return [
        *input_pipeline_rows(roots, seconds, (32, 224)),
        training_loop_row("simple_cnn", 32, epochs=10),
        training_loop_row("resnet18", 64, epochs=2),
        end_to_end_row(root, "resnet18", size, epochs=2 if size == 224 else 1),
        inference_row("resnet18", 224, seconds),
        gradcam_row("resnet18", 224, seconds),
        style_transfer_row(256, steps=20),
        adain_row(256, steps=200, seconds=seconds),
        *contention_rows(hogs=2, seconds=seconds),
        *app_latency_rows("resnet18", 224),
    ]


def report(rows: list[Row], out: Path) -> None:
    table = Table(title=f"artclf bench — {machine()}")
    for column in ("measurement", "ours", "baseline", "ratio"):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    for row in rows:
        table.add_row(
            row.name,
            f"{row.ours:,.1f} {row.unit}",
            f"{row.baseline:,.{2 if row.unit == '×' else 0}f} ({row.baseline_name})",
            f"{row.ratio:.2f}×",
        )
    Console().print(table)
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine(),
        "torch": torch.__version__,
        "rows": [asdict(r) | {"ratio": r.ratio} for r in rows],
    }
    path = out / "bench.json"
    path.write_text(json.dumps(payload, indent=2))
    print(f"written {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m artclf.bench", description=" ".join(__doc__.split("\n\n")[0].split())
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="time per measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument(
        "--out", type=Path, default=Path("bench_results"), help="folder for bench.json"
    )
    parser.add_argument("--images", type=Path, help="class folders of images for the input rows")
    parser.add_argument(
        "--only", choices=["contention"], help="run only these rows (contention: beside 2 hogs)"
    )
    args = parser.parse_args()
    keep_freed_memory()  # as every artclf command does, for ours and the baselines alike
    if args.only == "contention":
        rows = contention_rows(hogs=2, seconds=args.seconds)
    else:
        rows = run(args.seconds, args.quick, image_roots(args.images))
    report(rows, args.out)


if __name__ == "__main__":
    main()
