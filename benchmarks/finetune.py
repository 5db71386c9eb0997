"""``--only finetune``: ``experiment=wikiart_best``'s fine-tune (EfficientNet-Lite2, stem and
blocks 0-3 frozen, ``aug=paintings``) on a subset of the real paintings, its frozen layers run
the three ways ``model.freeze_mode`` offers, in one process, taking turns: ``train`` (the
default; the preset's path before), ``inference`` (the preset's) and ``cached``. Each rate is
the fastest of three epochs (after one that warms kernels and the page cache) over three
turns, so that it is the machine's quiet-time rate even where other jobs share its cores;
validation is off. From the rates, the preset's wall time over its own training set is
projected, with the cache built and with it already on disk. Then the frozen layers alone,
each lever of ``inference`` added in turn.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from benchmarks.common import Row, quiet_trainer

PRESET = "wikiart_best"
MODES = ("train", "inference", "cached")
#: epochs per measurement: the first warms kernels and the page cache, the fastest other counts
EPOCHS = 4


class EpochClock(L.Callback):
    """Wall time of each training epoch."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        self.seconds.append(time.perf_counter() - self.started)


def preset_config(*overrides: str) -> DictConfig:
    from hydra import compose, initialize_config_dir

    from artclf.runtime.config import CONFIG_DIR

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=[f"experiment={PRESET}", *overrides])


def subset_folder(root: Path, per_class: int, into: Path) -> Path:
    """``into/wikiart/<style>/``: links to the first ``per_class`` files of each style of
    ``root`` (read only: nothing is copied)."""
    for style in sorted(p for p in (root / "wikiart").iterdir() if p.is_dir()):
        (into / "wikiart" / style.name).mkdir(parents=True)
        for file in sorted(style.glob("*.jpg"))[:per_class]:
            (into / "wikiart" / style.name / file.name).symlink_to(file.resolve())
    return into


def measure_mode(cfg: DictConfig, mode: str, views: int) -> dict[str, float]:
    """Images/s of the fastest training epoch in ``mode`` but the first; for ``cached``, also
    the image views/s of building the cache first (from scratch)."""
    from hydra.utils import instantiate

    from artclf.models.module import ClassificationModule
    from artclf.runtime.config import device_precision, to_plain
    from artclf.training.feature_cache import attach_feature_cache

    model = to_plain(cfg.model) | {"freeze_mode": mode}
    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.setup("fit")
    classes, weights = datamodule.head_arguments()
    module = ClassificationModule(
        model, classes, to_plain(cfg.optim), to_plain(cfg.scheduler), weights,
        label_smoothing=float(cfg.model.label_smoothing),
    )  # fmt: skip
    result = {}
    if mode == "cached":
        for built in Path(datamodule.cache_dir).glob("features-*"):
            built.unlink()  # every turn builds it: the build rate is a best of turns too
        start = time.perf_counter()
        attach_feature_cache(module.net, datamodule, views)
        rows = len(datamodule.datasets["train"].cached_array())
        result["build_views_s"] = rows * views / (time.perf_counter() - start)
    clock = EpochClock()
    trainer = quiet_trainer(
        EPOCHS, devices=1, precision=device_precision(), limit_val_batches=0, callbacks=[clock]
    )
    trainer.fit(module, datamodule=datamodule)
    result["images"] = len(datamodule.datasets["train"])
    result["images_s"] = result["images"] / min(clock.seconds[1:])
    return result


def frozen_layer_rows(cfg: DictConfig, seconds: float) -> list[Row]:
    """Where ``inference``'s gain comes from: the frozen layers alone on one augmented batch
    of the real images with each lever of ``inference`` added in turn, against them as
    ``freeze_mode=train`` runs them (BatchNorm in training mode, float32, default layout);
    the variants take turns for ``seconds`` each, and each keeps its fastest pass."""
    from hydra.utils import instantiate

    from artclf.models.classifier import create_classifier
    from artclf.runtime.config import to_plain
    from artclf.runtime.devices import native_bf16

    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.setup("fit")
    rows = torch.arange(min(datamodule.batch_size, len(datamodule.datasets["train"])))
    batch = datamodule.transform(datamodule.datasets["train"].cached_array(), True, rows=rows)
    net = create_classifier(to_plain(cfg.model) | {"freeze_mode": "inference"}, {"style": 5})
    frozen = net.frozen

    def run(training: bool, layout: torch.memory_format, bf16: bool) -> int:
        for _, module in frozen.modules():
            module.train(training)
        x = batch.contiguous(memory_format=layout)
        with torch.set_grad_enabled(training), torch.autocast("cpu", enabled=bf16):
            for _, step in frozen.frozen:
                x = step(x)
        return len(x)

    variants = {"as freeze_mode=train runs them": (True, torch.contiguous_format, False)}
    variants[f"frozen layers alone, batch {len(batch)}: eval mode"] = (
        False,
        torch.contiguous_format,
        False,
    )
    variants["  eval mode, channels-last"] = (False, torch.channels_last, False)
    if native_bf16("cpu"):
        name = "  eval mode, channels-last, bf16 (freeze_mode=inference)"
        variants[name] = (False, torch.channels_last, True)
    fastest = {name: float("inf") for name in variants}
    for args in variants.values():
        run(*args)  # warm-up
    deadline = time.perf_counter() + seconds * len(variants)
    while time.perf_counter() < deadline:  # taking turns, as the trainings do
        for name, args in variants.items():
            start = time.perf_counter()
            run(*args)
            fastest[name] = min(fastest[name], time.perf_counter() - start)
    rates = {name: len(batch) / best for name, best in fastest.items()}
    baseline, today = next(iter(rates.items()))
    return [Row(name, rate, today, baseline) for name, rate in list(rates.items())[1:]]


def preset_sizes(cfg: DictConfig) -> tuple[int, int]:
    """The preset's training images and the files its cache covers (every scanned one)."""
    from artclf.data.spec import DataSpec

    spec = DataSpec.from_config(cfg.data)
    scan = spec.scan()
    return int((spec.records(scan).records["split"] == "train").sum()), len(scan.records)


def best_of(cfg: DictConfig, views: int, rounds: int) -> dict[str, dict[str, float]]:
    """Each mode measured ``rounds`` times, the modes taking turns so that a busy spell of a
    shared machine slows all of them; the fastest of each mode's rounds (its build of the
    cache included)."""
    measured: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for mode in MODES:
            result = measure_mode(cfg, mode, views)
            best = measured.setdefault(mode, result)
            for key, value in result.items():
                best[key] = max(best[key], value)
    return measured


def finetune_rows(per_class: int = 20, rounds: int = 3, seconds: float = 5.0) -> list[Row]:
    """The three modes' rates side by side, and the preset's projected wall times."""
    cfg = preset_config()
    roots = [Path(r) for r in cfg.data.root]
    missing = [str(r) for r in roots if not (r / "wikiart").is_dir()]
    if missing:
        raise SystemExit(
            f"error: {PRESET}'s data is not at {', '.join(missing)}; set ARTCLF_REAL_DATA "
            "and ARTCLF_MORE_DATA to the wikiart_sample and wikiart_more folders"
        )
    train_images, rows = preset_sizes(cfg)
    epochs, views = int(cfg.trainer.max_epochs), int(cfg.model.cache_views)
    with tempfile.TemporaryDirectory() as scratch:
        subset = subset_folder(roots[0], per_class, Path(scratch) / "subset")
        small = OmegaConf.merge(
            cfg,
            {"data": {"root": str(subset), "val_fraction": 0.0, "test_fraction": 0.0,
                      "cache_dir": str(Path(scratch) / "cache")}},
        )  # fmt: skip
        measured = best_of(small, views, rounds)
        levers = frozen_layer_rows(small, seconds)
    n = measured["train"]["images"]
    today, inference, cached = (measured[m]["images_s"] for m in MODES)  # train first
    build = measured["cached"]["build_views_s"]
    size = f"{cfg.model.image_size}²"

    def minutes(rate: float) -> float:
        return train_images * epochs / rate / 60

    first_run = minutes(cached) + rows * views / build / 60
    label = f"{PRESET} ({train_images:,} images × {epochs} epochs, projected)"
    baseline = "freeze_mode=train"
    projected = {
        f"{label}: inference": minutes(inference),
        f"  cached, first run ({rows:,} × {views} views built)": first_run,
        "  cached, a later run (views on disk)": minutes(cached),
    }
    return [
        Row(f"Lite2 {size}, {n} real images: freeze_mode=inference", inference, today, baseline),
        Row(f"  freeze_mode=cached (training on {views} stored views)", cached, today, baseline),
        Row(f"  building the cache (image views/s, {views} per image)", build, today, baseline),
        *(Row(name, value, minutes(today), baseline, "min") for name, value in projected.items()),
        *levers,
    ]
