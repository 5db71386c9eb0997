"""Parallel sweep jobs share one SQLite store: retry writes that hit "database is locked"."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def retry_locked(fn: Callable[..., T], *args, attempts: int = 8, **kwargs) -> T:
    """Call ``fn``; on a SQLite lock error wait (jittered, growing) and try again."""
    for attempt in range(attempts):
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if "database is locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.2 * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")
