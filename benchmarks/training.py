"""Training rows: our Lightning loop against a bare PyTorch loop, training end to end against
the compute ceiling, and training beside CPU hogs with and without artclf's thread policy."""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from benchmarks.common import LIGHT_AUG, TASK, Row, quiet_trainer, small_model, small_model_cfg


def training_loop_row(arch: str, image_size: int, epochs: int, batch: int = 32) -> Row:
    """Our LightningModule under a Trainer vs a bare loop over the same network, batches and
    optimiser, each for ``epochs`` epochs: what the framework costs per image."""
    from torch.utils.data import DataLoader

    from artclf.models.module import ClassificationModule

    images = torch.randn(16 * batch, 3, image_size, image_size)
    labels = torch.randint(0, 20, (len(images),))
    loader = DataLoader([(x, {TASK: y}) for x, y in zip(images, labels, strict=True)], batch)
    optim = {"_target_": "torch.optim.SGD", "_partial_": True, "lr": 1e-3, "momentum": 0.9}
    classes = {TASK: [str(i) for i in range(20)]}

    def bare() -> float:
        net = small_model(arch, image_size)
        optimizer = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        start = time.perf_counter()
        for _ in range(epochs):
            net.train()
            for x, y in loader:
                optimizer.zero_grad(set_to_none=True)
                loss_fn(net(x)[TASK], y[TASK]).backward()
                optimizer.step()
        return time.perf_counter() - start

    def lightning() -> float:
        module = ClassificationModule(small_model_cfg(arch, image_size), classes, optim)
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

    from artclf.data.datamodule import ArtDataModule
    from artclf.models.module import ClassificationModule
    from artclf.runtime.config import device_precision

    optim = {"_target_": "torch.optim.Adam", "_partial_": True, "lr": 1e-3}
    with tempfile.TemporaryDirectory() as scratch:
        datamodule = ArtDataModule(
            "artstation", str(root), "artist", image_size, batch_size=batch,
            val_fraction=0.0, test_fraction=0.0, cache_dir=scratch, augment=LIGHT_AUG,
        )  # fmt: skip
        datamodule.setup("fit")
        classes = datamodule.classes
        module = ClassificationModule(small_model_cfg(arch, image_size), datamodule.tasks, optim)
        trainer = quiet_trainer(
            epochs, devices=1, precision=device_precision(), limit_val_batches=0
        )
        start = time.perf_counter()
        trainer.fit(module, datamodule=datamodule)
        elapsed = time.perf_counter() - start
    images = epochs * len(datamodule.datasets["train"])
    device = trainer.strategy.root_device
    net = small_model(arch, image_size, len(classes)).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, 3, image_size, image_size, device=device)
    y = torch.randint(0, len(classes), (batch,), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = nn.functional.cross_entropy(net(x)[TASK], y)
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


def contention_rows(hogs: int, seconds: float) -> list[Row]:
    """Training beside ``hogs`` busy processes, with artclf's thread policy and with torch's
    defaults (each in a fresh process), and each one's slowdown over the fair share."""
    from benchmarks.contention import run_measurement

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
