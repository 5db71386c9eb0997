"""Training end to end on the tiny embedded dataset: metrics, checkpoints, determinism, resume."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from artclf.models.module import ClassificationModule
from artclf.train import train
from conftest import TINY_SYNTHETIC

FAST = (*TINY_SYNTHETIC, "logger=none", "trainer.max_epochs=1", "trainer.accelerator=cpu")


def test_one_epoch_returns_metric_and_reloadable_checkpoint(make_cfg, tmp_path: Path) -> None:
    score = train(make_cfg(*FAST))
    assert 0.0 <= score <= 1.0
    checkpoints = sorted((tmp_path / "run" / "checkpoints").glob("*.ckpt"))
    assert {p.name for p in checkpoints} >= {"last.ckpt"}
    best = next(p for p in checkpoints if p.name != "last.ckpt")
    # torch's default weights_only=True must be able to read what training wrote
    state = torch.load(best, weights_only=True, map_location="cpu")
    assert state["hyper_parameters"]["class_names"][:2] == ["AI_art_nouveau", "AI_baroque"]
    module = ClassificationModule.load_from_checkpoint(best, map_location="cpu", weights_only=True)
    assert len(module.class_names) == 20
    assert module(torch.zeros(2, 3, 32, 32)).shape == (2, 20)


def test_same_seed_same_metrics(make_cfg) -> None:
    assert train(make_cfg(*FAST, "seed=7")) == train(make_cfg(*FAST, "seed=7"))


def test_resume_continues_from_last_checkpoint(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(*FAST))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0
    resumed = make_cfg(*TINY_SYNTHETIC, "logger=none", "trainer.max_epochs=2", f"ckpt_path={last}")
    train(resumed)
    assert torch.load(last, weights_only=True)["epoch"] == 1


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.arch=vgg99", "unknown model.arch 'vgg99'; valid choices"),
        ("data.labels=colour", "unknown data.labels 'colour'"),
    ],
)
def test_bad_config_values_name_the_valid_choices(make_cfg, override: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(make_cfg(*FAST, override))


def test_missing_dataset_root_is_one_clear_error(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("data=ai_artbench", f"data.root={tmp_path / 'nowhere'}", "logger=none")
    with pytest.raises(ValueError, match="does not exist"):
        train(cfg)


def test_best_metric_and_its_epoch_are_logged_and_returned(make_cfg, tmp_path: Path) -> None:
    """``best/val/acc`` beside the per-epoch ``val/acc``: the value ``train`` returns to a
    search, not the last epoch's."""
    import pandas as pd

    score = train(make_cfg(*TINY_SYNTHETIC, "logger=none", "trainer.max_epochs=3"))
    logged = pd.read_csv(tmp_path / "run" / "metrics" / "metrics.csv")
    per_epoch = logged["val/acc"].dropna().tolist()
    best = logged["best/val/acc"].dropna().tolist()
    assert len(per_epoch) == 3 and best[-1] == pytest.approx(max(per_epoch)) == score
    epoch = int(logged["best/epoch"].dropna().iloc[-1])
    assert per_epoch[epoch] == pytest.approx(max(per_epoch))
