"""Issue 14's levers, each shown to change what it should: resize policies (and the cache
key), test-time augmentation, a seed ensemble, artwork-grouped CV folds, mixup/CutMix,
warm-up + cosine, layer-wise LR decay and an EMA of the weights."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from artclf.data.cv import apply_cv, artwork_group, check_cv
from artclf.data.images import cache_path, read_square_rgb
from artclf.data.resize import PAD_FILL, check_resize, checkpoint_resize
from artclf.inference.tta import averaged_probabilities, views
from artclf.models.mixup import BatchMixup
from artclf.models.optim import build_optimization, parameter_groups


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    """A 2:1 image: white centre square, black sides."""
    pixels = np.zeros((20, 40, 3), np.uint8)
    pixels[:, 10:30] = 255
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    return tmp_path / "wide.png"


def test_resize_policies_treat_a_wide_image_as_documented(wide: Path) -> None:
    crop, squash, pad = (read_square_rgb(wide, 10, p) for p in ("crop", "squash", "pad"))
    assert crop.min() > 200  # only the white centre square
    assert squash[:, 0].max() < 50 and squash[:, 5].min() > 200  # black sides squeezed in
    assert (pad[0] == PAD_FILL).all() and (pad[-1] == PAD_FILL).all()  # letterbox bars
    assert pad[5, 0].max() < 50 and pad[5, 5].min() > 200  # the whole width, undistorted
    assert np.array_equal(read_square_rgb(wide, 10), crop)  # null = crop, as before the option


def test_resize_is_part_of_the_cache_key_and_checked(wide: Path, tmp_path: Path) -> None:
    keys = {cache_path([str(wide)], 10, tmp_path, p) for p in ("crop", "squash", "pad")}
    assert len(keys) == 3
    with pytest.raises(ValueError, match="valid choices: crop, squash, pad"):
        check_resize("stretch")
    assert checkpoint_resize({"resize": "pad"}) == "pad"
    assert checkpoint_resize({"resize": "pad"}, "squash") == "squash"
    assert checkpoint_resize(None) == "crop"


class _LeftHalf(torch.nn.Module):
    """Logits of one task, ``style``, from the mean of the left half: not flip- or
    crop-invariant."""

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        left = x[..., : x.shape[-1] // 2].mean(dim=(2, 3))
        return {"style": torch.stack([left[:, 0], -left[:, 0]], dim=1) * 5}


def test_tta_averages_the_probabilities_of_its_views() -> None:
    batch = torch.linspace(-1, 1, 16).repeat(2, 3, 16, 1)  # dark left, bright right
    assert len(views(batch, "none")) == 1
    assert len(views(batch, "flip")) == 2
    assert len(views(batch, "multicrop")) == 6
    assert all(v.shape == batch.shape for v in views(batch, "multicrop"))
    model = _LeftHalf()
    for mode in ("flip", "multicrop"):
        expected = torch.stack([model(v)["style"].softmax(1) for v in views(batch, mode)]).mean(0)
        got = averaged_probabilities(model, batch, mode)["style"]
        assert torch.allclose(got, expected)
        assert not torch.allclose(got, model(batch)["style"].softmax(1))


def test_mixup_and_cutmix_mix_images_and_targets_alike() -> None:
    """Constant images 0..3 mixed with their reverse partner: image 0's mean pixel is the
    same mix of 0 and 3 as its target is of classes 0 and 1 (CutMix: the box's exact area)."""
    torch.manual_seed(0)
    images = torch.stack([torch.full((3, 8, 8), float(i)) for i in range(4)])
    targets = torch.tensor([0, 2, 2, 1])
    for mixer in (BatchMixup(0.4, 0.0), BatchMixup(0.0, 1.0)):
        mixed, soft = mixer(images, targets, 3)
        assert torch.allclose(soft.sum(1), torch.ones(4))
        lam = soft[0, 0]
        assert 0 < lam < 1 and torch.isclose(soft[0, 1], 1 - lam)
        assert torch.isclose(mixed[0].mean(), lam * 0 + (1 - lam) * 3, atol=1e-5)
    assert BatchMixup.from_config(None) is None
    with pytest.raises(ValueError, match="mixup_alpha or cutmix_alpha"):
        BatchMixup.from_config({"mixup_alpha": 0, "cutmix_alpha": 0})


def _lite0_classifier():
    from artclf.models.classifier import create_classifier

    cfg = {"arch": "timm", "name": "tf_efficientnet_lite0", "image_size": 32, "pool": "avg"}
    return create_classifier(cfg, {"style": 3}, pretrained=False)


def test_warmup_cosine_ramps_up_then_decays_per_step() -> None:
    net = torch.nn.Linear(2, 2)
    optim = {"name": "adamw", "lr": 1.0, "weight_decay": 0.0}
    sched = {"name": "warmup_cosine", "warmup_epochs": 1, "eta_min": 0.1}
    out = build_optimization(
        net.parameters(), optim, sched, max_epochs=4, monitor="val/acc", total_steps=40
    )
    optimizer, schedule = out["optimizer"], out["lr_scheduler"]["scheduler"]
    assert out["lr_scheduler"]["interval"] == "step"
    lrs = []
    for _ in range(40):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)  # 10 warm-up steps
    assert all(a < b for a, b in itertools.pairwise(lrs[:10]))
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:]))
    assert lrs[-1] == pytest.approx(0.1, abs=0.01)


def test_layer_decay_gives_early_blocks_smaller_learning_rates() -> None:
    net = _lite0_classifier()
    optim = {"name": "adamw", "lr": 1e-3, "weight_decay": 0.05, "layer_decay": 0.8}
    groups = parameter_groups(net, optim)
    lr_of = {id(p): g["lr"] for g in groups for p in g["params"]}
    body = net.body.model
    stem, last, head = body.conv_stem.weight, body.conv_head.weight, net.heads["style"][-1].weight
    assert lr_of[id(stem)] < lr_of[id(body.blocks[3][0].conv_pw.weight)] < lr_of[id(last)]
    assert lr_of[id(head)] == 1e-3 and lr_of[id(last)] == 1e-3
    assert len(lr_of) == sum(1 for p in net.parameters() if p.requires_grad)
    assert parameter_groups(net, {"lr": 1e-3}) == list(net.parameters())
    with pytest.raises(ValueError, match="needs a timm backbone"):
        parameter_groups(torch.nn.Sequential(torch.nn.Linear(1, 1)), optim)


def test_artwork_groups_normalise_titles() -> None:
    same = [
        "wikiart/Impressionism/claude-monet_water-lilies-1916.jpg",
        "wikiart/Impressionism/claude-monet_water-lilies-1916-1.jpg",
        "wikiart/Impressionism/claude-monet_Water-Lilies (detail).jpg",
    ]
    assert len({artwork_group(p) for p in same}) == 1
    assert artwork_group(same[0]) == "claude-monet/water-lilies"
    assert artwork_group(same[0]) != artwork_group("x/edgar-degas_water-lilies.jpg")


def test_cv_folds_are_disjoint_by_artwork_and_cover_the_pool() -> None:
    rows = []
    for artist in range(12):
        for work in "abcde":
            for variant in range(2):  # two files of every work
                suffix = f"-{variant}" if variant else ""
                rows.append((f"s/a{artist}_work-{work}-1890{suffix}.jpg", f"c{artist % 3}"))
    records = pd.DataFrame(rows, columns=["path", "label"])
    records["split"] = ["test" if i % 10 == 0 else "train" for i in range(len(records))]
    pool = records["split"] != "test"
    folds = 5
    vals = []
    for fold in range(folds):
        out = apply_cv(records, folds, fold, seed=3)
        assert (out.loc[~pool, "split"] == "test").all()  # the test split is untouched
        val = set(out.loc[out["split"] == "val", "path"])
        train = set(out.loc[out["split"] == "train", "path"])
        assert val and train and not val & train
        assert not {artwork_group(p) for p in val} & {artwork_group(p) for p in train}
        vals.append(val)
    assert set().union(*vals) == set(records.loc[pool, "path"])  # every pooled image once
    assert sum(len(v) for v in vals) == pool.sum()
    assert check_cv({"folds": None}) is None
    with pytest.raises(ValueError, match="0 <= fold < folds"):
        check_cv({"folds": 5, "fold": 5})


def test_recipe_options_train_two_steps_and_ema_checkpoint_differs(make_cfg, tmp_path) -> None:
    """mixup + EMA + warm-up cosine + label smoothing train end to end; the checkpoint holds
    the EMA weights, which differ from the raw ones; evaluate takes a TTA'd seed ensemble."""
    from artclf.evaluate import evaluate
    from artclf.train import train
    from conftest import TINY_SYNTHETIC

    cfg = make_cfg(
        *TINY_SYNTHETIC,
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.accelerator=cpu",
        "callbacks.progress_bar=false",
        "logger=none",
        "test=false",
        "scheduler=warmup_cosine",
        "scheduler.warmup_epochs=0.5",
        "model.label_smoothing=0.1",
        "model.mixup={mixup_alpha: 0.2, cutmix_alpha: 1.0}",
        "model.ema_decay=0.5",
        "data.resize=pad",
    )
    train(cfg)
    ckpt = next((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["hyper_parameters"]["data"]["resize"] == "pad"
    averaged, raw = state["state_dict"], state["current_model_state"]
    name = next(k for k in averaged if k.endswith("weight") and "net.heads" in k)
    assert not torch.equal(averaged[name], raw[name])
    one = make_cfg(f"ckpt_path={ckpt}", "logger=none", config_name="evaluate")
    two = make_cfg(f"ckpt_path=[{ckpt},{ckpt}]", "tta=flip", "logger=none", config_name="evaluate")
    single, ensemble = evaluate(one), evaluate(two)
    assert ensemble.metrics["test/n_images"] == single.metrics["test/n_images"]
