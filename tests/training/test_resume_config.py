"""Resuming by checkpoint alone: the default config takes the checkpoint's model and data;
an override that contradicts the checkpoint is one clear error."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from artclf.train import train
from conftest import TINY_SYNTHETIC

QUIET = (*TINY_SYNTHETIC, "logger=none", "trainer.accelerator=cpu", "callbacks.progress_bar=false")


def test_resume_takes_model_and_data_from_another_models_checkpoint(
    make_cfg, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    another = ("model=custom_cnn_224", "model.image_size=32", "data.labels=origin")
    train(make_cfg(*QUIET, *another, "trainer.max_epochs=1"))
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    steps = torch.load(last, weights_only=True, map_location="cpu")["global_step"]
    resume = (*QUIET, "trainer.max_epochs=2", f"ckpt_path={last}")

    with caplog.at_level(logging.INFO, logger="artclf.training.resume"):
        train(make_cfg(*resume))  # the default config: simple_cnn_32, 20 classes
    state = torch.load(last, weights_only=True, map_location="cpu")
    assert state["global_step"] == 2 * steps  # a second epoch, same model
    assert state["hyper_parameters"]["model"]["name"] == "custom_cnn_224"
    assert state["hyper_parameters"]["class_names"] == {"origin": ["AI", "human"]}
    (line,) = [r.getMessage() for r in caplog.records if r.name == "artclf.training.resume"]
    assert "model custom_cnn_224" in line and "taken from the checkpoint" in line

    with pytest.raises(ValueError) as error:
        train(make_cfg(*resume, "model=resnet50_224"))
    message = str(error.value)
    assert "\n" not in message
    assert "model.name='custom_cnn_224'" in message and "model.name='resnet50_224'" in message
    with pytest.raises(ValueError, match=r"data\.labels='origin'.*data\.labels='style'"):
        train(make_cfg(*resume, "data.labels=style"))
