"""``DataSpec``: the data settings of one run, read once from ``cfg.data`` (or a checkpoint's
stored copy) and used by every consumer: the datamodule, ``evaluate``, ``describe``,
``predict`` and the app. It owns the two steps they share: preparing the source (generating
the synthetic set) and turning a root into labelled, split records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from artclf.data.feedback import check_feedback
from artclf.data.pipeline import LabelledRecords, label_records
from artclf.data.sources import Scan, feedback, get_scanner, prepare_source
from artclf.data.sources.base import merge_scans


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else value


#: Fields ``records`` passes itself (or that ``label_records`` does not take).
NOT_LABELLING = frozenset({"source", "root", "labels", "cv", "synthetic", "resize", "feedback"})


@dataclass(frozen=True)
class DataSpec:
    """Which images, labelled and split how; see ``conf/data/ai_artbench.yaml`` for each
    field. Loader settings (image size, batch size, workers) are not part of it: a checkpoint
    decides the image size of what reads its data."""

    source: str
    #: one folder, or several read as one dataset (``data.root=[A,B]``; see ``roots``)
    root: str | tuple[str, ...]
    labels: str | tuple[str, ...]
    layout: str = "auto"
    top_k: int | None = None
    min_count: int | None = None
    drop_unknown: bool = True
    val_fraction: float = 0.1
    test_fraction: float = 0.1
    max_per_class: int | None = None
    class_weights: bool = False
    seed: int = 42
    cache_dir: str | None = None
    cv: Mapping | None = None
    synthetic: Mapping | None = None
    #: as given (None: the default, or for evaluate the checkpoint's own policy)
    resize: str | None = None
    #: folders ``python -m artclf.feedback export`` wrote: training images only, after the roots
    feedback: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, data: Mapping | DictConfig) -> DataSpec:
        """The spec from a data config (Hydra's or a checkpoint's plain dict). Only its own
        keys are read, so a preset's ``image_size: ${model.image_size}`` never needs a model."""
        if "source" not in data or "root" not in data or "labels" not in data:
            raise ValueError("the data config names no source, root or labels; pass data=<preset>")
        given = {f.name: _plain(data[f.name]) for f in fields(cls) if f.name in data}
        labels = given["labels"]
        given["labels"] = str(labels) if isinstance(labels, str) else tuple(map(str, labels))
        root = given["root"]
        given["root"] = str(root) if isinstance(root, str | Path) else tuple(map(str, root))
        if isinstance(given["root"], tuple) and len(given["root"]) == 1:
            given["root"] = given["root"][0]
        given["feedback"] = tuple(map(str, given.get("feedback") or ()))
        return cls(**given)

    @property
    def roots(self) -> list[str]:
        """The folders read, first the one whose validation and test splits are used: images
        of the others (the feedback folders last) are training images, whatever split their
        download gives them, so a model trained on more data is scored on the same images."""
        given = [self.root] if isinstance(self.root, str) else list(self.root)
        return [*given, *self.feedback]

    @property
    def label_columns(self) -> list[str]:
        """One label column per task, in task order."""
        return [self.labels] if isinstance(self.labels, str) else list(self.labels)

    def _is_feedback(self, root: str) -> bool:
        """A feedback export (``data.feedback``, or a root holding its manifest): read by the
        feedback reader whatever ``data.source`` is, never prepared."""
        return root in self.feedback or feedback.is_feedback_folder(root)

    def prepare(self) -> None:
        """The source's own preparation (the synthetic set is generated on first use)."""
        for root in self.roots:
            if not self._is_feedback(root):
                prepare_source(root, self.synthetic)

    def scan(self) -> Scan:
        """The raw records under the roots (after preparing them), classes matched by name
        across folders; a feedback folder after the first root may only hold the first's
        classes."""
        self.prepare()
        scanner = get_scanner(self.source)
        scans = []
        for root in self.roots:
            if not self._is_feedback(root):
                scans.append(scanner(root, layout=self.layout, cache_dir=self.cache_dir))
                continue
            scans.append(feedback.scan(root))
            if scans[1:]:
                check_feedback(scans[0], scans[-1], root, self.label_columns, self.roots[0])
        return scans[0] if len(scans) == 1 else merge_scans(scans)

    def records(self, scan: Scan | None = None) -> LabelledRecords:
        """Labelled, split, validated records (``scan``: one the caller already made). Every
        field but those that say where the images come from (and how to resize them, which
        only readers of pixels need) is a keyword of ``label_records``."""
        options = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in NOT_LABELLING
        }
        return label_records(
            self.source,
            self.roots[0],
            labels=self.label_columns,
            scan=self.scan() if scan is None else scan,
            cv=None if self.cv is None else dict(self.cv),
            **options,
        )
