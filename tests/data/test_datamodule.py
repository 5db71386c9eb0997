"""ArtDataModule as Hydra builds it: attributes after setup, batches, cache on/off, no test."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import torch
from hydra.utils import instantiate

from artclf.data.augment import denormalize
from artclf.data.datamodule import ArtDataModule
from conftest import TINY_SYNTHETIC
from fixtures import make_ai_artbench


def build(make_cfg, *overrides: str) -> ArtDataModule:
    cfg = make_cfg(*TINY_SYNTHETIC, *overrides)
    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


def test_default_data_after_setup(make_cfg):
    dm = build(make_cfg, "aug=aggressive")
    assert list(dm.tasks) == ["origin_style"] and dm.tasks["origin_style"] == dm.classes
    assert len(dm.classes) == 20 and dm.classes == sorted(dm.classes)
    assert dm.split_sizes == {"train": 160, "val": 20, "test": 60}
    assert len(dm.test_records) == 60 and dm.class_weights is None and dm.has_test
    rows, targets = next(iter(dm.train_dataloader()))  # on the CPU: prepared-array rows
    assert rows.dtype == torch.int64 and rows.shape == (32,)
    assert list(targets) == ["origin_style"]  # one task is a mapping of one
    assert targets["origin_style"].dtype == torch.int64 and int(targets["origin_style"].max()) < 20
    images = dm.datasets["train"].cached_array()[rows]
    assert images.dtype == torch.uint8 and images.shape == (32, 3, 32, 32)

    dm.trainer = SimpleNamespace(training=False)
    plain, _ = dm.on_after_batch_transfer((rows, targets), 0)
    assert torch.allclose(denormalize(plain) * 255, images.float(), atol=1e-3)
    assert torch.equal(dm.model_input(images, training=False), plain)
    dm.trainer = SimpleNamespace(training=True)
    jittered, _ = dm.on_after_batch_transfer((rows, targets), 0)
    assert jittered.dtype == torch.float32 and not torch.allclose(jittered, plain)


def test_loaders_give_pixels_for_cuda(make_cfg):
    dm = build(make_cfg)
    dm.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device("cuda")))
    loader = dm.val_dataloader()
    images, _ = next(iter(loader))
    assert loader.pin_memory and images.dtype == torch.uint8 and images.shape == (20, 3, 32, 32)
    val = dm.datasets["val"]
    assert torch.equal(images, val.cached_array()[torch.from_numpy(val.rows)])


def test_reading_files_directly_gives_the_cached_values(make_cfg):
    cached = build(make_cfg, "data.cache=true")
    direct = build(make_cfg, "data.cache=false")
    assert direct.datasets["val"].array_file is None
    for a, b in zip(cached.val_dataloader(), direct.val_dataloader(), strict=True):
        assert a[0].dtype == torch.int64 and b[0].dtype == torch.uint8  # rows; pixels
        assert torch.equal(cached.model_input(a[0], False), direct.model_input(b[0], False))
        assert a[1].keys() == b[1].keys() == {"origin_style"}
        assert torch.equal(a[1]["origin_style"], b[1]["origin_style"])


def test_no_test_split_falls_back_to_val_with_a_warning(tmp_path, caplog):
    make_ai_artbench(tmp_path, train_per_folder=2, test_per_folder=0)
    dm = ArtDataModule(
        "ai_artbench", str(tmp_path), "origin", 16, num_workers=0, cache_dir=str(tmp_path / "c")
    )
    dm.setup("fit")
    assert not dm.has_test and dm.test_records.empty
    with caplog.at_level(logging.WARNING):
        loader = dm.test_dataloader()
    assert loader.dataset.images is dm.datasets["val"] and "no test images" in caplog.text


def test_limited_val_and_test_batches_sample_every_class(make_cfg) -> None:
    """``debug=limit`` reads the first batches of val and test: they must cover every class
    (class-sorted, 20 test images covered 7 of 20 classes), and the run goes to ``debug``."""
    cfg = make_cfg(*TINY_SYNTHETIC, "debug=limit", "data.batch_size=20")
    assert cfg.trainer.limit_val_batches == 2 and cfg.logger.experiment_name == "debug"
    dm = build(make_cfg, "debug=limit", "data.batch_size=20")
    for loader in (dm.val_dataloader(), dm.test_dataloader()):
        _, targets = next(iter(loader))
        assert sorted(set(targets["origin_style"].tolist())) == list(range(20))
    again = build(make_cfg, "debug=limit", "data.batch_size=20")  # seeded: the same order
    assert again.datasets["test"].paths == dm.datasets["test"].paths


def test_interleaved_prefixes_keep_class_proportions() -> None:
    import pandas as pd

    from artclf.data.splits import interleave_classes

    table = pd.DataFrame({"label": ["a"] * 6 + ["b"] * 3 + ["c"], "path": list("0123456789")})
    ordered = interleave_classes(table, seed=0)
    assert sorted(ordered["path"]) == sorted(table["path"])
    assert set(ordered["label"][:3]) == {"a", "b", "c"}
    assert ordered["label"][:6].value_counts().to_dict() == {"a": 3, "b": 2, "c": 1}
