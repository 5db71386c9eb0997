"""Parallel sweep jobs share one store: retry writes that lose a race with another job, a SQLite
lock ("database is locked"), or two jobs inserting the same row at once (the same dataset logged
by every job of a sweep: the second insert violates the unique key; on retry the row exists and
is reused)."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Errors of a write that lost a race and succeeds when tried again (SQLite; PostgreSQL, MySQL).
TRANSIENT = re.compile(
    r"database is locked|UNIQUE constraint failed|duplicate key value violates unique constraint"
    r"|Duplicate entry"
)


def retry_locked(fn: Callable[..., T], *args, attempts: int = 8, **kwargs) -> T:
    """Call ``fn``; on a write that lost a race (``TRANSIENT``) wait (jittered, growing) and
    try again."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if not TRANSIENT.search(str(error)) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")
