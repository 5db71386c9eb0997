"""Thread policy (artclf.runtime.threads) and the contention bench row
(benchmarks/contention.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from artclf.runtime.threads import (
    POLICY_VARIABLES,
    cgroup_cpu_limit,
    configure_threads,
    usable_cpus,
)
from benchmarks.contention import fair_slowdown


def test_cgroup_quota_is_read_from_v2_and_v1_files(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert cgroup_cpu_limit(tmp_path) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_limit(tmp_path) is None
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("50000")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000")
    assert cgroup_cpu_limit(v1) == 0.5
    assert cgroup_cpu_limit(tmp_path / "absent") is None


def test_usable_cpus_never_exceeds_the_affinity_mask() -> None:
    assert 1 <= usable_cpus() <= len(os.sched_getaffinity(0))


def test_a_fresh_command_process_gets_passive_waits_and_a_capped_pool() -> None:
    env = {k: v for k, v in os.environ.items() if k not in POLICY_VARIABLES}
    code = (
        "import artclf, os, torch; "
        "print(os.environ['OMP_WAIT_POLICY'], os.environ['NUMBA_NUM_THREADS'], "
        "torch.get_num_threads())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    policy, numba_threads, torch_threads = out.stdout.split()
    assert policy == "PASSIVE"
    assert int(numba_threads) == int(torch_threads) == usable_cpus()


def test_the_users_thread_count_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    try:
        assert configure_threads() == 1
        assert torch.get_num_threads() == 1
        assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    finally:
        torch.set_num_threads(before)


def test_fair_slowdown_shares_the_cpus_per_thread() -> None:
    assert fair_slowdown(threads=2, hogs=2, cpus=2) == 2.0
    assert fair_slowdown(threads=2, hogs=1, cpus=2) == 1.5
    assert fair_slowdown(threads=1, hogs=1, cpus=2) == 1.0  # a free CPU is left for it


@pytest.mark.slow
def test_contention_rows_measure_ours_and_torch_defaults_in_fresh_processes() -> None:
    from benchmarks.training import contention_rows

    speed, slowdown = contention_rows(hogs=1, seconds=0.5)
    assert speed.ours > 0 and speed.baseline > 0
    assert slowdown.unit == "×" and slowdown.ours > 0 and slowdown.baseline > 0
    json.dumps([speed.__dict__, slowdown.__dict__])
