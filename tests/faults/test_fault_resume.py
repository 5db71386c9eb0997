"""Item 5: last.ckpt is the last epoch, and a resumed run ends exactly where an uninterrupted
one does (the random-number state travels in the checkpoint)."""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from artclf.train import train
from artclf.weights.checkpoints import RandomState
from conftest import TINY_SYNTHETIC

BASE = (
    *TINY_SYNTHETIC,
    "logger=none",
    "trainer.accelerator=cpu",
    "trainer.deterministic=true",
    "aug=light",  # augmentation and shuffling both draw from the random state
    "model.dropout=0.3",
    "callbacks.early_stopping.enabled=false",
    "callbacks.progress_bar=false",
)


def final_losses(run_dir: Path) -> dict[str, float]:
    metrics = pd.read_csv(run_dir / "metrics" / "metrics.csv")
    return {key: metrics[key].dropna().iloc[-1] for key in ("train/loss", "val/loss")}


def test_last_ckpt_is_the_last_epoch_not_the_best(make_cfg, tmp_path: Path) -> None:
    # lr=0: val/acc never improves after epoch 0, so Lightning's save_last stayed at epoch 0
    train(make_cfg(*BASE, "trainer.max_epochs=3", "optim.lr=1e-12"))
    last = torch.load(tmp_path / "run/checkpoints/last.ckpt", weights_only=True)
    assert last["epoch"] == 2


def draws() -> tuple:
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_random_state_survives_a_weights_only_checkpoint() -> None:
    buffer = io.BytesIO()
    torch.save({"callbacks": {"rng": RandomState().state_dict()}}, buffer)
    expected = draws()
    buffer.seek(0)
    RandomState().load_state_dict(torch.load(buffer, weights_only=True)["callbacks"]["rng"])
    assert draws() == expected


@pytest.mark.slow  # three tiny trainings: ~75 s on a busy 2-core machine
def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(make_cfg, tmp_path: Path) -> None:
    whole = make_cfg(*BASE, "trainer.max_epochs=3", f"paths.run_dir={tmp_path / 'whole'}")
    score = train(whole)
    first = make_cfg(*BASE, "trainer.max_epochs=1", f"paths.run_dir={tmp_path / 'part'}")
    train(first)
    last = tmp_path / "part/checkpoints/last.ckpt"
    rest = make_cfg(
        *BASE, "trainer.max_epochs=3", f"ckpt_path={last}", f"paths.run_dir={tmp_path / 'part'}"
    )
    assert train(rest) == score
    assert final_losses(tmp_path / "part") == final_losses(tmp_path / "whole")
