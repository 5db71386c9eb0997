"""Items 1 and 6: checkpoints load weights-only from anywhere, and are never half written."""

from __future__ import annotations

import functools
import http.server
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fault_helpers import assert_one_error_line, run_cli

from artclf.train import train
from artclf.weights.checkpoints import CheckpointError, read
from conftest import TINY_SYNTHETIC


class Payload:
    """Pickles to a call that creates ``marker``: the code a crafted checkpoint runs."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def crafted_checkpoint(folder: Path) -> tuple[Path, Path]:
    marker = folder / "payload-ran"
    path = folder / "evil.ckpt"
    torch.save({"state_dict": {}, "epoch": 0, "payload": Payload(marker)}, path)
    return path, marker


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``tmp_path/www`` served over HTTP on 127.0.0.1; yields the base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_crafted_checkpoint_from_a_url_runs_no_code(make_cfg, tmp_path: Path, served) -> None:
    _, marker = crafted_checkpoint(tmp_path / "www")
    cfg = make_cfg(*TINY_SYNTHETIC, "logger=none", f"ckpt_path={served}/evil.ckpt")
    with pytest.raises(CheckpointError, match="not a trusted artclf checkpoint"):
        train(cfg)
    assert not marker.exists()


def test_crafted_local_checkpoint_is_one_error_line(tmp_path: Path) -> None:
    path, marker = crafted_checkpoint(tmp_path)
    image = tmp_path / "a.png"
    image.write_bytes(b"")
    done = run_cli("predict", f"ckpt_path={path}", f"input={image}", home=tmp_path)
    assert_one_error_line(done, "not a trusted artclf checkpoint", str(path))
    assert not marker.exists()


def test_truncated_checkpoint_is_one_error_line(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"w": torch.randn(200_000)}}, path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read(path)
    done = run_cli("evaluate", f"ckpt_path={path}", home=tmp_path)
    assert_one_error_line(done, "truncated or corrupt", str(path))


WRITER = textwrap.dedent(
    """
    import sys, torch
    from artclf.weights.checkpoints import AtomicCheckpointIO
    io, target = AtomicCheckpointIO(), sys.argv[1]
    for step in range(10_000):  # ~24 MB each, content tells the step
        io.save_checkpoint({"step": step, "w": torch.full((6_000_000,), float(step))}, target)
        print(step, flush=True)
    """
)


@pytest.mark.slow  # three writer processes: ~50 s on a busy 2-core machine
def test_kill_during_checkpoint_writes_leaves_a_whole_file(tmp_path: Path) -> None:
    """kill -9 at random moments of back-to-back checkpoint writes (the temp folder on
    another filesystem where there is one, as in the report): the file is always whole."""
    target = tmp_path / "checkpoints" / "last.ckpt"
    env = {**os.environ, "TMPDIR": "/dev/shm" if Path("/dev/shm").is_dir() else str(tmp_path)}
    for attempt in range(3):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, env=env
        )
        assert writer.stdout.readline(), "the writer wrote nothing"
        time.sleep(random.uniform(0.0, 0.4))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        state = torch.load(target, weights_only=True)
        assert bool((state["w"] == state["step"]).all()), attempt
    leftovers = [p.name for p in target.parent.iterdir() if p != target]
    assert len(leftovers) <= 1, leftovers  # at most the piece of the write that was killed
