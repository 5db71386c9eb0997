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
    # one task is a mapping of one, named after the data's label column
    classes = state["hyper_parameters"]["class_names"]["origin_style"]
    assert classes[:2] == ["AI_art_nouveau", "AI_baroque"]
    module = ClassificationModule.load_from_checkpoint(best, map_location="cpu", weights_only=True)
    assert list(module.tasks) == ["origin_style"] and len(module.tasks["origin_style"]) == 20
    out = module(torch.zeros(2, 3, 32, 32))
    assert {task: logits.shape for task, logits in out.items()} == {"origin_style": (2, 20)}


def test_same_seed_same_metrics(make_cfg) -> None:
    assert train(make_cfg(*FAST, "seed=7")) == train(make_cfg(*FAST, "seed=7"))


def test_resume_continues_from_last_checkpoint(make_cfg, tmp_path: Path) -> None:
    train(make_cfg(*FAST))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 0
    resumed = make_cfg(*TINY_SYNTHETIC, "logger=none", "trainer.max_epochs=2", f"ckpt_path={last}")
    train(resumed)
    assert torch.load(last, weights_only=True)["epoch"] == 1


def _as_older_artclf_saved_it(state: dict, task: str) -> dict:
    """A checkpoint in the shape artclf wrote before tasks were always a mapping: one task's
    class names and weights as lists, its head and loss stored under the key ``label``."""
    hparams = state["hyper_parameters"]
    hparams["class_names"] = hparams["class_names"][task]
    hparams["class_weights"] = hparams["class_weights"][task]
    renames = {f"{part}.{task}.": f"{part}.label." for part in ("net.heads", "losses")}
    state["state_dict"] = {
        next((new + k[len(old) :] for old, new in renames.items() if k.startswith(old)), k): v
        for k, v in state["state_dict"].items()
    }
    return state


def test_an_older_single_task_checkpoint_loads_and_resumes(make_cfg, tmp_path: Path) -> None:
    """Upgraded where it is read: the task gets its label column's name, the weights their
    head; predict sees the same network, and training resumes from it."""
    from artclf.inference.classifier import load_module

    train(make_cfg(*FAST, "data.class_weights=true"))
    folder = tmp_path / "run" / "checkpoints"
    state = torch.load(folder / "last.ckpt", weights_only=True, map_location="cpu")
    old = _as_older_artclf_saved_it(state, "origin_style")
    assert (
        "net.heads.label.1.weight" in old["state_dict"]
        and "losses.label.weight" in old["state_dict"]
    )
    torch.save(old, folder / "old.ckpt")
    assert torch.load(folder / "old.ckpt", weights_only=True)["hyper_parameters"]["class_names"]

    upgraded, current = load_module(folder / "old.ckpt"), load_module(folder / "last.ckpt")
    assert upgraded.tasks == current.tasks and list(upgraded.tasks) == ["origin_style"]
    assert upgraded.hparams.class_weights == current.hparams.class_weights
    images = torch.randn(3, 3, 32, 32)
    torch.testing.assert_close(upgraded(images), current(images))

    resume = ("logger=none", "trainer.max_epochs=2", "data.class_weights=true")
    train(make_cfg(*TINY_SYNTHETIC, *resume, f"ckpt_path={folder / 'old.ckpt'}"))
    resumed = torch.load(folder / "last.ckpt", weights_only=True)
    assert resumed["epoch"] == 1 and list(resumed["hyper_parameters"]["class_names"]) == [
        "origin_style"
    ]


def test_an_older_checkpoint_without_data_labels_keeps_its_task_name() -> None:
    from artclf.models.module import upgrade_checkpoint

    old = {
        "hyper_parameters": {"class_names": ["a", "b"], "class_weights": None},
        "state_dict": {"net.heads.label.1.weight": torch.zeros(2, 4)},
    }
    upgraded = upgrade_checkpoint(old)
    assert upgraded["hyper_parameters"]["class_names"] == {"label": ["a", "b"]}
    assert list(upgraded["state_dict"]) == ["net.heads.label.1.weight"]


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
