"""``experiment=retrain``: a registered champion trained again on its data + a folder of new
images, from its own weights, registered beside it as ``@challenger``; the new folder adds
training images only."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from artclf.data.spec import DataSpec
from artclf.data.synthetic import FOLDERS, paint
from artclf.tracking.registry import CHALLENGER, CHAMPION, resolve_checkpoint
from artclf.train import train
from artclf.training.tasks import build_classifier, task_of
from conftest import compose_cfg, tiny_training
from fixtures import jpeg_bytes, make_feedback

MODEL = "synthetic-origin_style"


@pytest.fixture(scope="module")
def champion(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path) -> dict:
    home = tmp_path_factory.mktemp("retrain")
    uri = f"sqlite:///{home}/mlflow.db"
    base = (*tiny_training(shared_cache, uri), "trainer.max_epochs=1")
    train(compose_cfg("train", home / "champion", *base, "aug=light", "logger.register=true"))
    return {"home": home, "uri": uri, "base": base, "feedback": feedback_folder(home / "fb")}


def feedback_folder(root: Path) -> Path:
    """A feedback export of new images of three classes (another seed of the embedded set)."""
    images: dict[str, list[bytes]] = {}
    for folder in sorted(FOLDERS)[:3]:
        generator, style = FOLDERS[folder]
        label = f"{'human' if generator == 'human' else 'AI'}_{style}"
        images[label] = [jpeg_bytes(paint(7, "train", folder, i, 32)) for i in range(2)]
    return make_feedback(root, images, "origin_style")


def retrain_cfg(champion: dict, *overrides: str):
    return compose_cfg(
        "train",
        champion["home"] / "retrain",
        *champion["base"],
        "experiment=retrain",
        f"retrain.model=models:/{MODEL}@champion",
        f"retrain.feedback=[{champion['feedback']}]",
        "trainer.max_epochs=1",
        *overrides,
    )


def test_retrain_registers_a_challenger_on_data_plus_feedback(champion: dict) -> None:
    cfg = task_of(retrain_cfg(champion)).resume_config(retrain_cfg(champion))
    trained_on = DataSpec.from_config(cfg.data)
    before = DataSpec.from_config({**OmegaConf.to_container(cfg.data), "feedback": []})
    assert trained_on.roots[-1] == str(champion["feedback"])
    with_feedback, without = trained_on.records(), before.records()
    for split in ("val", "test"):  # the champion's evaluation splits, unchanged
        assert with_feedback.targets(split).equals(without.targets(split))
    added = len(with_feedback.targets("train")) - len(without.targets("train"))
    assert added == 6
    stored = resolve_checkpoint(f"models:/{MODEL}@champion")
    default_lr = float(compose_cfg("train", champion["home"]).optim.lr)
    assert cfg.optim.lr == pytest.approx(0.1 * default_lr)
    assert cfg.retrain.checkpoint == str(stored)

    module = build_classifier(cfg).module  # starts from the champion's weights
    champion_state = torch.load(stored, weights_only=True)["state_dict"]
    assert all(torch.equal(module.state_dict()[k], v) for k, v in champion_state.items())

    assert cfg.retrain.choices["aug"] == cfg.aug.name == "light"  # the recipe's, not aug=none
    train(retrain_cfg(champion))
    aliases = MlflowClient(champion["uri"]).get_registered_model(MODEL).aliases
    assert aliases == {CHAMPION: 1, CHALLENGER: 2}


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ckpt_path=last.ckpt", "drop ckpt_path"),
        ("retrain.mode=warm", "retrain.mode='warm'; valid choices: finetune, recipe"),
        ("retrain.feedback=[/no/such/folder]", "no folder /no/such/folder"),
        ("retrain.model=models:/nothing@champion", "nothing"),
    ],
)
def test_retrain_mistakes_are_one_line(champion: dict, override: str, message: str) -> None:
    cfg = retrain_cfg(champion, override)
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        task_of(cfg).resume_config(cfg)
