"""The serving record read back, for monitoring and for turning feedback into data: every
prediction (champion, challenger, shadow) of every serving run in the store, as a DataFrame,
with the feedback given on it, and where the images that were kept lie."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from artclf.serving.recording import EXPERIMENT, FEEDBACK, FOLDERS, IMAGES, PREDICTION

#: The columns of ``read_requests``, whatever it finds.
REQUEST_COLUMNS = [
    "request_id", "index", "time", "route", "model", "version", "alias", "image_sha256",
    "image_bytes", "width", "height", "prediction", "probabilities", "embedding",
    "embedding_dim", "latency_ms", "run_id", "feedback",
]  # fmt: skip
#: ``solicited``: the web app asked for it (True) or a person reported a mistake unasked
#: (False); None where the writer does not say (``POST /feedback``). ``image_sha256``: of the
#: image the client sent with its feedback, else None.
FEEDBACK_COLUMNS = [
    "request_id", "index", "task", "label", "solicited", "image_sha256", "time", "run_id",
]  # fmt: skip


def read_requests(
    tracking_uri: str,
    model: str | None = None,
    version: str | int | None = None,
    since: datetime | str | None = None,
    last: int | None = None,
) -> pd.DataFrame:
    """Prediction records, oldest first: of ``model`` (its ``version``), at or after ``since``
    (a datetime, naive meaning UTC, or ISO text), the ``last`` ones. ``feedback`` holds the
    label given later for that image (the latest), else None; a mistake reported unasked
    (``solicited`` False) is left out: online accuracy from reported mistakes is biased low."""
    table = _records(tracking_uri, PREDICTION, since)
    if model is not None:
        table = table[table["model"] == model]
    if version is not None:
        table = table[table["version"] == str(version)]
    if last is not None:
        table = table.tail(last)
    labels = read_feedback(tracking_uri, since)
    labels = labels[~labels["solicited"].isin([False])].drop_duplicates(
        ["request_id", "index"], keep="last"
    )
    table = table.drop(columns="feedback", errors="ignore").merge(
        labels[["request_id", "index", "label"]].rename(columns={"label": "feedback"}),
        on=["request_id", "index"],
        how="left",
    )
    table["feedback"] = table["feedback"].astype(object).where(table["feedback"].notna(), None)
    return table[REQUEST_COLUMNS].reset_index(drop=True)


def read_feedback(tracking_uri: str, since: datetime | str | None = None) -> pd.DataFrame:
    """Feedback records, oldest first: which request and image, which head, the label."""
    return _records(tracking_uri, FEEDBACK, since)[FEEDBACK_COLUMNS].reset_index(drop=True)


def kept_images(tracking_uri: str) -> dict[str, tuple[str, str]]:
    """Every image a serving run kept (``serve.keep_images``, or sent with feedback): its
    sha256 -> (run id, artifact path)."""
    client = MlflowClient(tracking_uri)
    return {
        Path(image.path).name.split(".")[0]: (run.info.run_id, image.path)
        for run in _serving_runs(client)
        for folder in client.list_artifacts(run.info.run_id, IMAGES)
        for image in client.list_artifacts(run.info.run_id, folder.path)
    }


def _serving_runs(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def _records(tracking_uri: str, kind: str, since: datetime | str | None) -> pd.DataFrame:
    """Every record of ``kind`` in the store's serving runs (those still open, or ended at or
    after ``since``), oldest first."""
    client = MlflowClient(tracking_uri)
    runs = _serving_runs(client)
    start = None if since is None else _utc(since)
    rows = [
        {**record, "run_id": run.info.run_id}
        for run in runs
        if start is None or not run.info.end_time or _utc(run.info.end_time) >= start
        for record in _run_records(client, tracking_uri, run.info.run_id, FOLDERS[kind])
    ]
    table = pd.DataFrame(rows, columns=REQUEST_COLUMNS if kind == PREDICTION else FEEDBACK_COLUMNS)
    table["time"] = pd.to_datetime(table["time"], utc=True, format="ISO8601")
    if start is not None:
        table = table[table["time"] >= start]
    return table.sort_values("time", kind="stable")


def _run_records(client: MlflowClient, tracking_uri: str, run_id: str, folder: str) -> list[dict]:
    """The JSON lines of the run's ``folder``, file by file (their names sort by time)."""
    if not client.list_artifacts(run_id, folder):
        return []
    with tempfile.TemporaryDirectory() as tmp:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=folder, dst_path=tmp, tracking_uri=tracking_uri
        )
        return [
            json.loads(line)
            for path in sorted(Path(local).glob("*.jsonl"))
            for line in path.read_text().splitlines()
            if line
        ]


def _utc(moment: datetime | str | int) -> pd.Timestamp:
    """A moment in UTC: naive means UTC; an int is MLflow's milliseconds since the epoch."""
    stamp = pd.Timestamp(moment, unit="ms") if isinstance(moment, int) else pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
