"""One thread policy for torch, numba and OpenMP, sized to the CPUs this process may use.

Why: torch's OpenMP threads meet at a barrier after every parallel operator. With GNU
OpenMP's default wait policy a thread that arrives early spins, so on a loaded machine it
burns the core its late sibling (pre-empted by another process) needs, and every operator
waits a scheduler time slice; numba's pool and loader processes add more runnable threads.
Waiting threads that sleep (``OMP_WAIT_POLICY=PASSIVE``) give the core back, and pools sized
to the CPUs of the affinity mask and cgroup quota (not the host's count) stop
oversubscription. ``make bench ARGS="--only contention"`` measures the effect.

OpenMP reads its environment when torch is first imported, so ``artclf/__init__`` applies the
policy before anything imports torch; ``cli.run_or_exit`` applies it again for the thread
counts, in case torch was imported first. Variables the user set are never changed.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

#: Environment defaults read by OpenMP (torch), MKL and numba when they load.
_WAIT = {"OMP_WAIT_POLICY": "PASSIVE"}
_COUNTS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
POLICY_VARIABLES = (*_WAIT, *_COUNTS)


def cgroup_cpu_limit(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """CPUs granted by the cgroup's CPU quota (v2 ``cpu.max`` or v1 cfs files); None = none."""
    v2 = root / "cpu.max"
    try:
        if v2.is_file():
            quota, period = v2.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError):
        return None


def usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, capped by the cgroup quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def configure_threads() -> int:
    """Apply the policy (idempotent); return the thread count torch and numba use.

    Sets the environment defaults (effective for libraries not yet loaded and for child
    processes), then sizes torch's pool if torch is loaded already. An
    ``OMP_NUM_THREADS`` the user set decides the count for all of them."""
    user_count = os.environ.get("OMP_NUM_THREADS")
    count = int(user_count) if user_count and user_count.isdigit() else usable_cpus()
    for name, value in _WAIT.items():
        os.environ.setdefault(name, value)
    for name in _COUNTS:
        os.environ.setdefault(name, str(count))
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
    # numba's pool: sized by NUMBA_NUM_THREADS when it loads (lazily, in data.gather_kernel),
    # which runs it with torch's count, so both pools are this size and never both busy.
    return count
