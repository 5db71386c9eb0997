"""A run's writes leave through an outbox, so the training loop never waits on the tracking
server: ``put`` queues metrics, params and tags; one background thread delivers them in order
and, while the server (or its database) is down, tries again with capped exponential backoff.
A restart of the server costs nothing; one down longer than the run's budget
(``logger.outage_budget_s``) makes ``check``/``flush`` raise ``TrackingUnreachable`` in the
main thread, where training can stop with a checkpoint (``artclf.training.preemption``) that
carries the writes not yet delivered (``pending``/``requeue``)."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from artclf.tracking.retry import TRANSIENT

log = logging.getLogger(__name__)

#: MLflow's per-request limits: metrics, and params or tags.
PER_REQUEST, PER_REQUEST_PARAMS = 1000, 100
#: Waits between tries of a write the server did not take: doubling from the first, capped.
FIRST_WAIT_S, MAX_WAIT_S = 0.5, 10.0
#: Seconds the server may take no write before the run stops (``logger.outage_budget_s``).
DEFAULT_BUDGET_S = 300.0
#: How long the end of a run waits for pending writes when it failed for another reason.
CLOSE_WAIT_S = 10.0
#: HTTP answers worth trying again besides every 5xx: timeout, too many requests.
RETRIED_STATUS = (408, 429)
THREAD_PREFIX = "artclf-outbox"
#: The cause inside MLflow's "API request to ... failed with exception ..." messages.
CAUSE = re.compile(r"\[Errno -?\d+\][^'\")]*|too many \d+ error responses|[Rr]ead timed out")


class TrackingUnreachable(ValueError):
    """The tracking server took no write for longer than the run's budget."""

    def __init__(self, uri: str, seconds: float, budget_s: float, fix: str = "") -> None:
        self.uri, self.seconds, self.budget_s = uri, seconds, budget_s
        fix = fix or f"start it, or raise logger.outage_budget_s (now {budget_s:g})"
        super().__init__(f"tracking server {uri} unreachable for {seconds:.0f} s; {fix}")


def retryable(error: Exception) -> bool:
    """Whether trying again later may work: no answer or a 5xx (the server or its database
    down), a timeout or rate limit, a write that lost a race; not a refused write (4xx)."""
    if TRANSIENT.search(str(error)):
        return True
    if not isinstance(error, MlflowException):
        return False
    status = error.get_http_status_code()
    return status >= 500 or status in RETRIED_STATUS


def _first_line(error: BaseException) -> str:
    """An error in one short line, for a warning."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def reason(error: BaseException) -> str:
    """Why a request failed, without the URLs and retry counts MLflow wraps around it."""
    found = CAUSE.search(str(error))
    return found.group(0) if found else _first_line(error)


@dataclass
class Write:
    """What one ``log_batch`` request sends."""

    metrics: list[Metric] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    tags: list[RunTag] = field(default_factory=list)

    def record(self) -> dict[str, list[list[Any]]]:
        """Plain lists (a checkpoint loads them weights-only)."""
        return {
            "metrics": [[m.key, float(m.value), m.timestamp, m.step] for m in self.metrics],
            "params": [[p.key, str(p.value)] for p in self.params],
            "tags": [[t.key, str(t.value)] for t in self.tags],
        }

    @classmethod
    def from_record(cls, record: dict[str, list[list[Any]]]) -> Write:
        return cls(
            [Metric(k, v, ts, step) for k, v, ts, step in record.get("metrics", [])],
            [Param(k, v) for k, v in record.get("params", [])],
            [RunTag(k, v) for k, v in record.get("tags", [])],
        )


def _split(metrics: Sequence[Metric], params: Sequence[Param], tags: Sequence[RunTag]):
    """Writes within MLflow's per-request limits, in the order given."""
    for start in range(0, len(metrics), PER_REQUEST):
        yield Write(metrics=list(metrics[start : start + PER_REQUEST]))
    for start in range(0, max(len(params), len(tags)), PER_REQUEST_PARAMS):
        end = start + PER_REQUEST_PARAMS
        yield Write(params=list(params[start:end]), tags=list(tags[start:end]))


class Outbox:
    """The queue of one run's writes and the thread that delivers them."""

    def __init__(
        self,
        client: MlflowClient,
        run_id: str,
        budget_s: float,
        uri: str = "",
        first_wait_s: float = FIRST_WAIT_S,
        max_wait_s: float = MAX_WAIT_S,
    ) -> None:
        self.client, self.run_id, self.budget_s = client, run_id, budget_s
        self.uri = uri or str(client.tracking_uri)
        self.first_wait_s, self.max_wait_s = first_wait_s, max_wait_s
        self._queue: deque[Write] = deque()
        self._cond = threading.Condition()
        self._failing_since: float | None = None  # first try of the oldest undelivered write
        self._refused: Exception | None = None  # a write the server will never take
        self._stopping = False
        self._thread = threading.Thread(
            target=self._deliver, name=f"{THREAD_PREFIX}-{run_id[:8]}", daemon=True
        )
        self._thread.start()

    # -- the main thread's side ------------------------------------------------------------

    def put(
        self,
        metrics: Iterable[Metric] = (),
        params: Iterable[Param] = (),
        tags: Iterable[RunTag] = (),
    ) -> None:
        """Queue writes; never waits on the server, never raises (``check`` does)."""
        writes = list(_split(list(metrics), list(params), list(tags)))
        with self._cond:
            self._queue.extend(writes)
            self._cond.notify_all()

    def outage_s(self) -> float:
        """How long the server has been failing to take the oldest pending write."""
        since = self._failing_since
        return 0.0 if since is None else time.monotonic() - since

    def check(self, budget_s: float | None = None) -> None:
        """Raise what the delivery found: a refused write, or an outage past the budget."""
        with self._cond:
            refused, self._refused = self._refused, None
        if refused is not None:
            raise refused
        budget = self.budget_s if budget_s is None else budget_s
        if self.outage_s() > budget:
            raise TrackingUnreachable(self.uri, self.outage_s(), self.budget_s)

    def flush(self, budget_s: float | None = None) -> None:
        """Wait until everything queued is delivered, for at most the budget."""
        budget = self.budget_s if budget_s is None else budget_s
        deadline = time.monotonic() + budget
        while True:
            with self._cond:
                empty = not self._queue
                if not empty:
                    self._cond.wait(0.2)
            self.check(budget)
            if empty:
                return
            if time.monotonic() > deadline:
                raise TrackingUnreachable(self.uri, max(self.outage_s(), budget), self.budget_s)

    def pending(self) -> list[dict[str, list[list[Any]]]]:
        """The writes not delivered yet, as plain records."""
        with self._cond:
            return [write.record() for write in self._queue]

    def requeue(self, records: Iterable[dict[str, list[list[Any]]]]) -> None:
        """Queue writes a checkpoint carried (a stopped run's, resumed)."""
        with self._cond:
            self._queue.extend(Write.from_record(r) for r in records)
            self._cond.notify_all()

    def close(self) -> None:
        """Deliver what is pending (briefly if the server is down), then stop the thread; what
        could not be delivered is named in one warning."""
        problem = ""
        try:
            self.flush(min(self.budget_s, CLOSE_WAIT_S))
        except Exception as error:
            problem = reason(error)
        with self._cond:
            self._stopping = True
            left = sum(len(w.metrics) + len(w.params) + len(w.tags) for w in self._queue)
            self._cond.notify_all()
        self._thread.join(timeout=2.0)
        _OPEN.pop(self.run_id, None)
        if left:
            log.warning(
                "run %s: %d metrics/params/tags not delivered to %s (%s); a training's last.ckpt "
                "carries them into its resumed run",
                self.run_id,
                left,
                self.uri,
                problem,
            )
        elif problem:
            log.warning("run %s: %s", self.run_id, problem)

    # -- the delivery thread ---------------------------------------------------------------

    def _next(self) -> tuple[Write, int]:
        """The first pending write, with the metric-only writes after it merged in (one
        request after an outage, not one per epoch)."""
        first = self._queue[0]
        if first.params or first.tags:
            return first, 1
        metrics, count = list(first.metrics), 1
        for write in list(self._queue)[1:]:
            if write.params or write.tags or len(metrics) + len(write.metrics) > PER_REQUEST:
                break
            metrics += write.metrics
            count += 1
        return Write(metrics=metrics), count

    def _deliver(self) -> None:
        wait = self.first_wait_s
        while True:
            with self._cond:
                while not self._queue and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                write, count = self._next()
                if self._failing_since is None:
                    self._failing_since = time.monotonic()
            try:
                self.client.log_batch(self.run_id, write.metrics, write.params, write.tags)
            except Exception as error:
                if retryable(error):
                    wait = self._wait_after(error, wait)
                    continue
                with self._cond:  # refused for good: the main thread raises it
                    self._refused = error
                    for _ in range(count):
                        self._queue.popleft()
                    self._failing_since = None
                    self._cond.notify_all()
                continue
            with self._cond:
                for _ in range(count):
                    self._queue.popleft()
                if wait > self.first_wait_s:
                    log.warning(
                        "tracking server %s is back after %.0f s; delivering the writes kept",
                        self.uri,
                        self.outage_s(),
                    )
                self._failing_since = None
                wait = self.first_wait_s
                self._cond.notify_all()

    def _wait_after(self, error: Exception, wait: float) -> float:
        """Wait before the next try (stopping ends it); the wait after that."""
        if wait == self.first_wait_s:
            log.warning(
                "tracking server %s did not take a write (%s); training goes on, writes are "
                "kept and tried again for up to logger.outage_budget_s=%g s",
                self.uri,
                reason(error),
                self.budget_s,
            )
        with self._cond:
            self._cond.wait_for(lambda: self._stopping, timeout=wait)
        return min(wait * 2, self.max_wait_s)


class _OwnRetries(logging.Filter):
    """urllib3's line per retry of the delivery thread: the outbox says it once instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.threadName.startswith(THREAD_PREFIX)


_OPEN: dict[str, Outbox] = {}


def open_outbox(uri: str, run_id: str, budget_s: Any) -> Outbox:
    """The outbox of ``run_id`` (``outbox_of`` finds it) until it is closed."""
    try:
        budget = float(budget_s)
    except (TypeError, ValueError):
        budget = -1.0
    if not budget >= 0:
        raise ValueError(
            f"logger.outage_budget_s={budget_s!r}; give the seconds a tracking server may be "
            "down before training stops (e.g. 300)"
        )
    urllib3_log = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _OwnRetries) for f in urllib3_log.filters):
        urllib3_log.addFilter(_OwnRetries())
    box = Outbox(MlflowClient(uri), run_id, budget, uri)
    _OPEN[run_id] = box
    return box


def outbox_of(run_id: str | None) -> Outbox | None:
    """The open outbox of ``run_id``; None when its writes go straight to the store."""
    return _OPEN.get(run_id) if run_id else None
