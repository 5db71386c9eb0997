"""What the app records: each classification it shows, as the service records a request
(``artclf.serving.records``, route ``app``, in one run of experiment ``artclf-serving`` per app
process), so ``python -m artclf.monitor`` sees app traffic per model version; and the label a
person gives it. People mostly report mistakes, so an online accuracy from the feedback they
volunteer is biased low: a random share of answers is asked "Is this right?", and only the
feedback on those (``solicited``) counts towards accuracy. Any answer can be reported wrong."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import uuid
from dataclasses import dataclass
from pathlib import Path

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from artclf.app.classify import Classified
from artclf.serving.recording import EXPERIMENT, Recorder
from artclf.serving.records import feedback_record, prediction_records
from artclf.tracking.experiments import experiment_id
from artclf.tracking.lifecycle import process_tags
from artclf.tracking.naming import unique_name
from artclf.tracking.registry import is_model_uri, model_version
from artclf.tracking.retry import retry_locked

#: The route of the app's records (the service's are champion, challenger, shadow).
ROUTE = "app"


@dataclass(frozen=True)
class Options:
    """``conf/app/default.yaml``: whether to record, and the share of answers asked."""

    record: bool = True
    confirm_share: float = 0.2

    @classmethod
    def from_config(cls, app: DictConfig) -> Options:
        """The options checked; a bad value is one ValueError naming its flag and variable."""
        record, share = app.record, app.confirm_share
        if not isinstance(record, bool):
            raise ValueError(
                f"ARTCLF_APP_RECORD is {record!r}; set it to true or false (--no-record: false)"
            )
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ValueError(
                f"the confirm share (--confirm-share, ARTCLF_APP_CONFIRM_SHARE) is {share!r}; "
                "a share from 0 to 1 (0.2 asks one answer in five)"
            )
        return cls(record, float(share))


def asked(request_id: str, share: float) -> bool:
    """Whether the answer ``request_id`` is asked "Is this right?": a uniform draw seeded by
    its id, so a random ``share`` of answers is, and an answer stays asked (or not) on every
    rerun of the page."""
    draw = int(hashlib.sha256(request_id.encode()).hexdigest()[:15], 16) / 16**15
    return draw < share


@dataclass(frozen=True)
class Shown:
    """The registered version whose answers the page shows, as a record names it
    (``serving.records.Answering``)."""

    uri: str  # as picked: models:/<name>@<alias> or models:/<name>/<version>
    name: str
    version: str
    tasks: dict[str, list[str]]

    @property
    def alias(self) -> str | None:
        return self.uri.rpartition("@")[2] if "@" in self.uri else None


def pinned(source: str, client: MlflowClient) -> tuple[str, str] | None:
    """``(name, version)`` of the version the registry URI ``source`` names now, loaded by
    number so the weights shown and the version recorded are one even if its alias moves;
    None for a checkpoint path (no registered version to record answers for)."""
    if not is_model_uri(source):
        return None
    version = model_version(source, client)
    return version.name, str(version.version)


def open_recorder(client: MlflowClient, tracking_uri: str) -> Recorder:
    """A new run of ``artclf-serving`` for this process, and its recorder; both are closed
    when the process exits (Ctrl-C, SIGTERM), a killed one's by the next command's store."""
    experiment = experiment_id(client, EXPERIMENT, tracking_uri)
    run = retry_locked(
        client.create_run,
        experiment,
        run_name=unique_name(client, experiment, "app"),
        tags={"artclf.task": "app", **process_tags()},
    )
    recorder = Recorder(run.info.run_id)
    atexit.register(close, client, recorder)
    return recorder


def close(client: MlflowClient, recorder: Recorder) -> None:
    recorder.close()
    with contextlib.suppress(MlflowException):  # the store went away: the next run closes it
        client.set_terminated(recorder.run_id)


def record_answer(
    recorder: Recorder, answers: dict, shown: Shown, path: Path, result: Classified
) -> str:
    """The request id of ``result`` (the classification of ``path`` by ``shown``), recorded the
    first time a session shows it: ``answers`` (the session's) remembers it, so a rerun of the
    page that shows it again is no new request."""
    data = path.read_bytes()
    key = (shown.name, shown.version, hashlib.sha256(data).hexdigest())
    if key not in answers:
        answers[key] = uuid.uuid4().hex  # as the service's request ids
        for record in prediction_records(
            answers[key], [data], ROUTE, shown, result.probs, result.features, result.latency_ms
        ):
            recorder.put(record)
    return answers[key]


def give_feedback(
    recorder: Recorder, request_id: str, task: str, label: str, solicited: bool, path: Path
) -> None:
    """Record the label a person gave the answer, whether it was asked for (``asked``), and
    keep the image it is about: labelled images are what ``artclf.feedback export`` retrains
    on, and a person correcting an answer gives it for that use."""
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    given = feedback_record(request_id, 0, task, label)
    recorder.put({**given, "solicited": solicited, "image_sha256": digest})
    recorder.keep(digest, data)
