"""What every ``python -m artclf.<command>`` shares: user mistakes become one clear line."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from artclf.runtime.memory import keep_freed_memory
from artclf.runtime.quiet import quiet_known_noise
from artclf.runtime.threads import configure_threads

T = TypeVar("T")
log = logging.getLogger("artclf")

#: Errors that mean bad input (a path, a layout, a config value), not a bug in artclf.
USER_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError)


def run_or_exit(fn: Callable[..., T], *args, **kwargs) -> T:
    """Call ``fn``; on bad input print ``error: <message>`` on stderr and exit 2.

    ``ARTCLF_DEBUG=1`` re-raises, for the full traceback. Freed memory is kept for reuse
    (``keep_freed_memory``): commands run step after step on same-sized tensors. Thread pools
    are sized to the CPUs the process may use and wait without spinning
    (``artclf.runtime.threads``); known irrelevant warnings and lines are filtered
    (``artclf.runtime.quiet``).
    """
    keep_freed_memory()
    configure_threads()
    quiet_known_noise()
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as error:
        if os.environ.get("ARTCLF_DEBUG"):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)
