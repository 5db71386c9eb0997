"""Which images an evaluation scores, with each task's class index, from a ``DataSpec``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from omegaconf import DictConfig
from torch import Tensor

from artclf.data.images import find_unreadable
from artclf.data.spec import DataSpec
from artclf.inference.classifier import read_as_trained
from artclf.models.module import ClassificationModule

SPLITS = ("test", "val", "all")


@dataclass(frozen=True)
class Sample:
    """``size`` images drawn with ``seed``: a test whose sample size is fixed before the data
    is seen. Fewer images than that is an error, never a smaller test: deciding as soon as a
    difference looks significant promotes an equal model far more often than alpha says."""

    size: int
    seed: int

    def draw(self, table: pd.DataFrame, where: str) -> pd.DataFrame:
        if len(table) < self.size:
            raise ValueError(
                f"{where} holds {len(table)} images; sample_size={self.size} was fixed in "
                f"advance: collect {self.size - len(table)} more before comparing "
                "(action=plan says how many a decision needs)"
            )
        return table.sample(n=self.size, random_state=self.seed).sort_index()


def evaluation_spec(cfg: DictConfig, stored: Mapping | None) -> DataSpec:
    """``cfg.data`` when given, else the data config the checkpoint was trained with
    (``stored``, its ``hparams.data``)."""
    if cfg.get("data") is not None:
        return DataSpec.from_config(cfg.data)
    if not stored:
        raise ValueError("this checkpoint stores no data config; pass data=<preset> data.root=...")
    return DataSpec.from_config(stored)


def split_records(spec: DataSpec, split: str, tasks: Mapping[str, list[str]]) -> pd.DataFrame:
    """``path`` and, per task of the checkpoint (``tasks``: task -> classes), a column of class
    indices: the seeded ``test``/``val``/``train`` split of training, or ``all``."""
    columns = spec.label_columns
    if len(columns) != len(tasks):
        raise ValueError(
            f"data.labels={columns} gives {len(columns)} task(s); the checkpoint has "
            f"{len(tasks)} ({', '.join(tasks)})"
        )
    if split == "all":
        return all_records(spec, tasks)
    records = spec.records()
    if list(records.tasks.values()) != list(tasks.values()):
        raise ValueError(
            f"the data's classes {list(records.tasks.values())} differ from the checkpoint's "
            f"{list(tasks.values())}; use eval_split=all to match classes by name"
        )
    return records.targets(split).set_axis(["path", *tasks], axis=1)


def scored_images(
    spec: DataSpec, split: str, module: ClassificationModule, sample: Sample | None = None
) -> tuple[pd.DataFrame, Tensor]:
    """The split's readable images (``sample``: a seeded subset of a size fixed in advance) as
    ``module`` was trained to see them, and their table (indexed by path, one column of class
    indices per task) in the same order."""
    table = split_records(spec, split, module.tasks)
    if table.empty:
        raise ValueError(f"no images in split {split!r} of {spec.root}")
    if sample is not None:
        table = sample.draw(table, f"split {split!r} of {spec.root}")
    paths, images = read_as_trained(module, table["path"].tolist(), spec.resize)
    return table.set_index("path").loc[[str(p) for p in paths]], images


def all_records(spec: DataSpec, tasks: Mapping[str, list[str]]) -> pd.DataFrame:
    """Every readable image under the root, its classes matched to the checkpoint's by name."""
    scan = spec.scan()
    columns = spec.label_columns
    for column in columns:
        if column not in scan.label_columns:
            raise ValueError(
                f"unknown data.labels {column!r}; valid choices: {', '.join(scan.label_columns)}"
            )
    records = scan.records.dropna(subset=columns)
    bad = find_unreadable(records["path"].tolist(), cache_dir=spec.cache_dir)
    records = records[~records["path"].isin(bad.keys())]
    table = {"path": records["path"]}
    for column, (task, classes) in zip(columns, tasks.items(), strict=True):
        names = records[column].astype(str)
        unknown = sorted(set(names) - set(classes))
        if unknown:
            raise ValueError(
                f"{column} classes {unknown} under {spec.root} are not among the "
                f"checkpoint's classes {classes}; remove those images or evaluate a model "
                "trained on them"
            )
        table[task] = names.map({name: i for i, name in enumerate(classes)})
    return pd.DataFrame(table)
