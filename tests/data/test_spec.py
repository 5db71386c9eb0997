"""``DataSpec``: the data settings read once, for training, evaluate, describe and the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from artclf.data.spec import DataSpec

TINY = {"seed": 0, "train_per_class": 1, "test_per_class": 1, "size": 16}


def test_a_preset_needs_no_model_to_be_read() -> None:
    data = OmegaConf.create(
        {
            "source": "wikiart",
            "root": "/somewhere",
            "labels": ["style", "genre"],
            "image_size": "${model.image_size}",  # unresolvable here: never read
            "cv": {"folds": None, "fold": 0},
        }
    )
    spec = DataSpec.from_config(data)
    assert spec.label_columns == ["style", "genre"]
    assert spec.cv == {"folds": None, "fold": 0} and spec.resize is None


def test_a_config_without_source_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="pass data=<preset>"):
        DataSpec.from_config({"root": "/x"})


def test_synthetic_source_and_older_checkpoints_read_the_same_records(tmp_path: Path) -> None:
    common = {"labels": "origin_style", "cache_dir": str(tmp_path / "memo"), "synthetic": TINY}
    new = DataSpec.from_config({"source": "synthetic", "root": str(tmp_path / "a"), **common})
    # what checkpoints written before the synthetic source store
    old = DataSpec.from_config({"source": "ai_artbench", "root": str(tmp_path / "b"), **common})
    first, second = new.records(), old.records()
    assert first.tasks == second.tasks and len(first.classes) == 20
    assert first.counts() == second.counts()
    assert (tmp_path / "a" / "train").is_dir() and (tmp_path / "b" / "test").is_dir()


def test_single_task_records_are_a_mapping_of_one(tmp_path: Path) -> None:
    spec = DataSpec("synthetic", str(tmp_path / "d"), "origin", synthetic=TINY)
    records = spec.records()
    assert list(records.tasks) == ["origin"] and records.classes == ["AI", "human"]
    table = records.targets("test")
    assert list(table.columns) == ["path", "origin"] and len(table) > 0


def test_data_settings_are_written_once_in_dataspec() -> None:
    """A data option is a ``DataSpec`` field and a key of the data presets; the datamodule
    takes whatever the spec has (and refuses what it has not), ``label_records`` gets it."""
    from dataclasses import fields

    import yaml

    from artclf.data.datamodule import DATA_OPTIONS, ArtDataModule
    from artclf.data.spec import DataSpec
    from artclf.runtime.config import CONFIG_DIR

    spec_fields = {f.name for f in fields(DataSpec)}
    assert spec_fields - {"source", "root", "labels"} == DATA_OPTIONS
    preset = yaml.safe_load((CONFIG_DIR / "data" / "ai_artbench.yaml").read_text())
    assert spec_fields - {"synthetic"} <= set(preset)  # the embedded set's own preset has it
    with pytest.raises(ValueError, match="unknown data option 'max_per_clas'; valid choices"):
        ArtDataModule("ai_artbench", "/x", "style", 32, max_per_clas=3)
