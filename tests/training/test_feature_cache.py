"""``model.freeze_mode``: frozen first layers run as inference, and their cached output.

A tiny ResNet18 (32 px, no weights) with its stem and ``layer1`` frozen, over the tiny
synthetic set: the cache is built once and reused, training on it gives the logits the whole
network gives on the same augmented view, and it is rebuilt when the frozen weights or the
image size change.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hydra.utils import instantiate

from artclf.data.datamodule import ArtDataModule
from artclf.evaluation.attributions import attribute, explainable_copy
from artclf.models.classifier import Classifier, create_classifier
from artclf.models.module import ClassificationModule
from artclf.runtime.config import to_plain
from artclf.training.feature_cache import VIEW_SEED, attach_feature_cache
from artclf.training.tasks import model_callbacks
from conftest import TINY_SYNTHETIC, train_tiny

FROZEN = "model.freeze=[conv1,bn1,layer1]"


def build(make_cfg, *overrides: str) -> tuple[Classifier, ArtDataModule]:
    cfg = make_cfg(
        *TINY_SYNTHETIC, "model=resnet18_32", FROZEN, "model.freeze_mode=cached", *overrides
    )
    datamodule = instantiate(cfg.data, augment=cfg.aug, _recursive_=False)
    datamodule.prepare_data()
    datamodule.setup("fit")
    net = create_classifier(to_plain(cfg.model), {"style": len(datamodule.classes)})
    return net, datamodule


def counting(net: Classifier) -> list[int]:
    """Count the images the frozen layers run on from now on."""
    seen, features = [], net.frozen.features

    def count(images: torch.Tensor) -> torch.Tensor:
        seen.append(len(images))
        return features(images)

    net.frozen.features = count
    return seen


def test_cache_is_built_once_and_reused(make_cfg) -> None:
    net, datamodule = build(make_cfg)
    rows = len(datamodule.datasets["train"].cached_array())
    seen = counting(net)
    store = attach_feature_cache(net, datamodule, views=2)
    assert sum(seen) == 2 * rows and datamodule.train_features is store
    assert store.array.shape[:3] == (2, rows, 64) and store.array.dtype == "float16"
    again = attach_feature_cache(net, datamodule, views=2)
    assert sum(seen) == 2 * rows and again.path == store.path  # read, not computed


def test_suffix_logits_on_cached_view_equal_full_model_logits(make_cfg) -> None:
    net, datamodule = build(make_cfg, "aug=paintings", "data.batch_size=8")
    store = attach_feature_cache(net, datamodule, views=3)
    net.eval()
    images = datamodule.datasets["train"].cached_array()
    view, start = 2, 8  # the view of the second chunk of 8, redrawn as it was drawn
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(VIEW_SEED + view * 1_000_003 + start)
        batch = datamodule.transform(images, True, rows=torch.arange(start, start + 8))
    with torch.no_grad():
        full = net(batch)["style"]
        stored = torch.tensor(store.array[view, start : start + 8]).float()
        cached = net.forward_frozen_output(stored)["style"]
    assert not torch.allclose(batch, datamodule.transform(images[start : start + 8], False))
    torch.testing.assert_close(cached, full, rtol=1e-2, atol=1e-3)  # float16 storage


def test_cache_is_rebuilt_when_frozen_weights_or_image_size_change(make_cfg) -> None:
    net, datamodule = build(make_cfg)
    first = attach_feature_cache(net, datamodule, views=1).path
    with torch.no_grad():
        net.body.layer1[0].conv1.weight.mul_(1.5)
    seen = counting(net)
    changed = attach_feature_cache(net, datamodule, views=1).path
    assert changed != first and sum(seen) > 0
    net, datamodule = build(make_cfg, "data.synthetic.size=40", "model.image_size=40")
    bigger = attach_feature_cache(net, datamodule, views=1)
    assert bigger.path not in (first, changed) and bigger.array.shape[-1] == 10  # 40 px / 4


def test_inference_mode_keeps_frozen_batchnorm_statistics(make_cfg) -> None:
    """``train`` moves the frozen BatchNorm's running statistics while training (so its
    output is not a fixed function of the image, and no cache could stand for it);
    ``inference`` keeps them."""
    moved = {}
    for mode in ("train", "inference"):
        cfg = make_cfg("model=resnet18_32", FROZEN, f"model.freeze_mode={mode}")
        net = create_classifier(to_plain(cfg.model), {"style": 3}).train()
        before = net.body.bn1.running_mean.clone()
        net(torch.randn(4, 3, 32, 32) * 3 + 1)["style"].sum().backward()
        moved[mode] = not torch.equal(before, net.body.bn1.running_mean)
        assert net.body.conv1.weight.grad is None
    assert moved == {"train": True, "inference": False}


def test_explanations_pass_gradients_through_frozen_layers(make_cfg) -> None:
    """Integrated Gradients needs the input's gradient, which layers run as inference do not
    record: the explainable copy runs them as plain layers."""
    cfg = make_cfg("model=resnet18_32", FROZEN, "model.freeze_mode=inference")
    net = create_classifier(to_plain(cfg.model), {"style": 3})
    maps = attribute(explainable_copy(net), torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), "ig")
    assert maps.shape == (2, 32, 32) and maps.max() > 0


def test_a_training_on_cached_views_runs_end_to_end(tmp_path: Path, shared_cache: Path) -> None:
    _, run = train_tiny(
        tmp_path, shared_cache, "model.freeze=[block1]", "model.freeze_mode=cached",
        "model.cache_views=2", "trainer.max_epochs=1", "logger.log_model=false",
    )  # fmt: skip
    assert run.info.status == "FINISHED" and run.data.metrics["train/loss"] > 0
    assert list((shared_cache / "prepared").glob("features-*-2views.npy"))


def test_settings_that_cannot_work_are_one_line(make_cfg) -> None:
    cfg = make_cfg("model=resnet18_32", "model.freeze=[layer2]", "model.freeze_mode=inference")
    with pytest.raises(ValueError, match=r"first layers in order \(conv1, bn1, layer1"):
        create_classifier(to_plain(cfg.model), {"style": 3})
    cfg = make_cfg("model=resnet18_32", "model.freeze_mode=cached")
    with pytest.raises(ValueError, match="needs frozen layers"):
        create_classifier(to_plain(cfg.model), {"style": 3})
    cfg = make_cfg("model=resnet18_32", FROZEN, "model.freeze_mode=cached")
    model = to_plain(cfg.model) | {"mixup": {"mixup_alpha": 0.2}}
    with pytest.raises(ValueError, match=r"model\.mixup mixes images"):
        ClassificationModule(model, {"style": ["a", "b"]}, to_plain(cfg.optim))
    cfg = make_cfg(
        "model=resnet18_32", FROZEN, "model.freeze_mode=inference", "+model.finetune.switch_epoch=1"
    )
    with pytest.raises(ValueError, match=r"model\.finetune trains every layer"):
        model_callbacks(cfg.model)
