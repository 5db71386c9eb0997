"""Feedback folders (``artclf.data.sources.feedback``) as training images of a dataset: they
only teach the classes the dataset has (a served model's classes are its training data's), and
never an image that is a byte copy of a validation or test image (a client may well send one).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from artclf.data.sources.base import Scan

log = logging.getLogger(__name__)


def check_feedback(data: Scan, feedback: Scan, root: str, labels: list[str], first: str) -> None:
    """One line when the feedback folder ``root`` labels none of the heads being trained
    (``labels``) or names a class that the data under ``first`` lacks."""
    if feedback.records.empty:
        log.warning("feedback folder %s holds no images: it adds nothing", root)
        return
    trained = [column for column in labels if column in feedback.label_columns]
    if not trained:
        raise ValueError(
            f"feedback folder {root} labels {', '.join(feedback.label_columns)}, this run trains "
            f"data.labels={','.join(labels)}: export the feedback of a model trained on this data"
        )
    for column in trained:
        known = set(data.records_for(column)[column].dropna().astype(str))
        given = feedback.records[column].dropna().astype(str)
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(
                f"feedback folder {root} has the class {unknown[0]!r} ({column}), which the data "
                f"under {first} lacks: feedback teaches a model's own classes; drop "
                f"{Path(root) / column / unknown[0]} or train on the data that has it"
            )


def drop_held_out_copies(
    records: pd.DataFrame, content: dict[str, str]
) -> tuple[pd.DataFrame, int]:
    """``records`` without the training rows whose known content (``content``: sha256 by path)
    is a byte copy of a validation or test image; and how many were dropped. Only then are
    the held-out files read."""
    known = records["path"].map(content)
    training = (records["split"] == "train") & known.notna()
    if not training.any():
        return records, 0
    held_out = {_sha256(p) for p in records.loc[records["split"].isin(["val", "test"]), "path"]}
    copies = training & known.isin(held_out)
    return records[~copies].reset_index(drop=True), int(copies.sum())


def _sha256(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()
