"""What every ``python -m artclf.<command>`` shares: user mistakes become one clear line."""

from __future__ import annotations

import errno
import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn, TypeVar

from artclf.runtime.memory import keep_freed_memory
from artclf.runtime.quiet import quiet_known_noise
from artclf.runtime.threads import configure_threads

T = TypeVar("T")
log = logging.getLogger("artclf")

#: Errors that mean bad input (a path, a layout, a config value), not a bug in artclf.
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)
#: A full disk or quota: the user's to fix, not a bug (the message names the folder).
FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


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
        _exit_with(error, str(error))
    except OSError as error:
        if error.errno not in FULL_DISK:
            raise
        _exit_with(error, error.strerror or str(error))


def _exit_with(error: BaseException, text: str) -> NoReturn:
    """``error: <first line>`` on stderr, exit 2 (``ARTCLF_DEBUG=1``: the traceback)."""
    if os.environ.get("ARTCLF_DEBUG"):
        raise error
    message = text.strip().splitlines()[0] if text.strip() else repr(error)
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
