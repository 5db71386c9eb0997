"""Every study preset composes and trains for a few steps on the tiny embedded dataset."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from artclf.runtime.config import CONFIG_DIR
from artclf.train import train
from conftest import TINY_SYNTHETIC

CLASSIFICATION_PRESETS = sorted(
    p.stem
    for p in (CONFIG_DIR / "experiment").glob("*.yaml")
    if p.stem not in ("cyclegan_monet", "adain", "retrain")  # retrain: of a registered version
)
#: The study's data and pretrained weights replaced by what a test machine has.
ON_TINY_DATA = (
    "data=synthetic",
    *TINY_SYNTHETIC,
    # a preset's own data.root (wikiart_best names the shared real folders) must not be where
    # the tiny embedded set is generated
    "data.root=${paths.cache_dir}/synthetic/presets",
    "data.batch_size=8",
    "data.labels=origin_style",
    "data.top_k=null",
    "data.min_count=null",
    "data.max_per_class=null",
    "data.class_weights=true",
    "data.val_fraction=0.1",
    "data.test_fraction=0.1",
    "model.pretrained=false",
    "model.image_size=32",
    "logger=none",
    "test=false",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.accelerator=cpu",
)


def test_every_study_row_has_a_preset() -> None:
    assert len([p for p in CLASSIFICATION_PRESETS if p.split("_")[0] == "ovsianik"]) == 4
    assert {p.split("_")[0] for p in CLASSIFICATION_PRESETS} >= {
        "ovsianik",
        "zhang",
        "shah",
        "ding",
    }


@pytest.mark.parametrize("preset", CLASSIFICATION_PRESETS)
def test_preset_composes_and_trains(make_cfg, preset: str) -> None:
    study = make_cfg(f"experiment={preset}")
    assert study.trainer.max_epochs >= 3 and study.data.source != "synthetic"
    cfg = make_cfg(f"experiment={preset}", *ON_TINY_DATA)
    assert cfg.model.name == study.model.name and cfg.optim == study.optim
    assert 0.0 <= train(cfg) <= 1.0


def test_study_weights_missing_offline_is_one_clear_error(make_cfg, monkeypatch, tmp_path) -> None:
    """The studies' ImageNet ResNets stay ``pretrained: true``; without the weights (no cache,
    no network) training stops with the PretrainedWeightsError line, naming the fix."""
    import urllib.error

    import torch

    from artclf.weights.pretrained import PretrainedWeightsError

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    overrides = [o for o in ON_TINY_DATA if not o.startswith("model.pretrained")]
    with pytest.raises(PretrainedWeightsError, match=r"not available offline.*pretrained=false"):
        train(make_cfg("experiment=ovsianik_resnet18_frozen", *overrides))


@pytest.mark.parametrize("config_name", ["train", "stylize"])
def test_random_search_presets_use_the_optuna_random_sampler(config_name: str) -> None:
    from artclf.training.tuning import compose

    cfg = compose([f"search={config_name}_random"])
    assert cfg.tune.command == config_name and cfg.tune.sampler == "random"
    assert all(spec.log and spec.low < spec.high for spec in cfg.tune.params.values())
    for key in cfg.tune.params:  # every searched key is a key of the command's config
        assert OmegaConf.select(cfg, key) is not None, key
