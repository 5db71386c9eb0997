"""SLURM requeue: SIGUSR1 before the time limit makes Lightning save ``hpc_ckpt_<N>.ckpt`` and
run ``scontrol requeue``; the job, started again with the same command in the same folder,
trains on from where it stopped, into the same MLflow run, and ends where an uninterrupted
run does. No cluster here: SLURM's variables for a one-task job, and a fake ``scontrol`` that
records its arguments and stops the job with SIGTERM, as requeueing a running job does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from fault_helpers import runs_in
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from test_fault_preemption import BASE, metric_history

from artclf.runtime.config import CONFIG_DIR
from artclf.training.resume import requeued_checkpoint

JOB_ID = "4242"
#: What SLURM sets in the one task of a one-GPU job (Lightning's SLURMEnvironment reads them).
SLURM_TASK = {
    "SLURM_JOB_ID": JOB_ID,
    "SLURM_JOB_NAME": "train",
    "SLURM_NTASKS": "1",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}
FAKE_SCONTROL = '#!/bin/sh\necho "$@" >> "$SCONTROL_LOG"\nkill -TERM "$PPID"\n'


def start(tmp_path: Path, shared_cache: Path, run: str) -> subprocess.Popen:
    """``train`` as a SLURM job's task: 3 tracked epochs into ``tmp_path/run``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(FAKE_SCONTROL)
    scontrol.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SLURM_")},
        **SLURM_TASK,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "SCONTROL_LOG": str(tmp_path / "scontrol.log"),
        "ARTCLF_HOME": str(tmp_path),
        "ARTCLF_CACHE": str(shared_cache),
        "HF_HUB_OFFLINE": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    tracked = (*BASE, "trainer.max_epochs=3", f"logger.tracking_uri=sqlite:///{tmp_path}/mlflow.db")
    return subprocess.Popen(
        [sys.executable, "-m", "artclf.train", *tracked, f"paths.run_dir={tmp_path / run}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(job: subprocess.Popen) -> str:
    output, _ = job.communicate(timeout=300)
    assert job.returncode == 0, output[-3000:]
    return output


@pytest.mark.slow  # three tiny trainings in their own processes: about a minute
def test_a_requeued_job_trains_on_in_its_run_and_folder(tmp_path: Path, shared_cache: Path) -> None:
    finish(start(tmp_path, shared_cache, "whole"))
    (whole,) = runs_in(tmp_path / "mlflow.db")

    job = start(tmp_path, shared_cache, "job")
    last = tmp_path / "job/checkpoints/last.ckpt"
    deadline = time.monotonic() + 240
    while not last.exists() and time.monotonic() < deadline:  # epoch 0 done: in epoch 1 now
        time.sleep(0.05)
    job.send_signal(signal.SIGUSR1)  # what --signal=USR1@90 sends
    output, _ = job.communicate(timeout=120)
    assert job.returncode == 143, output[-3000:]  # stopped by the requeue's SIGTERM
    assert (tmp_path / "job/hpc_ckpt_1.ckpt").is_file(), output[-3000:]
    assert (tmp_path / "scontrol.log").read_text().split() == ["requeue", JOB_ID]
    stopped_at = torch.load(last, weights_only=True)["global_step"]
    (killed,) = [r for r in runs_in(tmp_path / "mlflow.db") if r.info.status == "KILLED"]

    again = finish(start(tmp_path, shared_cache, "job"))  # the requeued job: the same command
    runs = {r.info.run_id: r for r in runs_in(tmp_path / "mlflow.db")}
    assert runs.keys() == {whole.info.run_id, killed.info.run_id}  # no new run
    assert runs[killed.info.run_id].info.status == "FINISHED"
    assert f"resuming requeued job from {last}" in again
    assert torch.load(last, weights_only=True)["global_step"] > stopped_at  # the same folder
    store = f"sqlite:///{tmp_path}/mlflow.db"
    for key in ("val/loss", "val/acc", "best/val/acc"):  # each epoch's, after the stop too
        history = metric_history(store, whole.info.run_id, key)
        assert history and metric_history(store, killed.info.run_id, key) == history, key
    assert len(metric_history(store, whole.info.run_id, "val/loss")) == 3


def save(path: Path, global_step: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}, "global_step": global_step}, path)
    return path


@pytest.mark.parametrize(
    ("hpc_step", "last_step", "restarts", "expected"),
    [
        (12, 11, None, "hpc"),  # the job was killed before SIGTERM could save last.ckpt
        (11, 12, None, "last"),  # last.ckpt, saved on the requeue's SIGTERM, is further on
        (12, 12, None, "last"),  # a tie: last.ckpt is saved at a batch boundary
        (None, 12, "1", "last"),  # requeued by SLURM itself (preemption): SIGTERM only
        (None, 12, None, None),  # a first start in a folder that holds a checkpoint
    ],
)
def test_the_furthest_checkpoint_of_a_requeued_job_is_resumed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hpc_step, last_step, restarts, expected
) -> None:
    for key, value in SLURM_TASK.items():
        monkeypatch.setenv(key, value)
    if restarts is None:
        monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    else:
        monkeypatch.setenv("SLURM_RESTART_COUNT", restarts)
    saved = {"last": save(tmp_path / "checkpoints/last.ckpt", last_step)}
    if hpc_step is not None:
        saved["hpc"] = save(tmp_path / "hpc_ckpt_1.ckpt", hpc_step)
    cfg = OmegaConf.create({"ckpt_path": None, "paths": {"run_dir": str(tmp_path)}})
    found = requeued_checkpoint(cfg, tmp_path / "checkpoints")
    assert found == (saved[expected] if expected else None)
    cfg.ckpt_path = str(saved["last"])  # an explicit ckpt_path is kept
    assert requeued_checkpoint(cfg, tmp_path / "checkpoints") is None
    monkeypatch.delenv("SLURM_NTASKS")  # not a SLURM job
    cfg.ckpt_path = None
    assert requeued_checkpoint(cfg, tmp_path / "checkpoints") is None


def test_the_slurm_launcher_asks_for_the_requeue_signal(tmp_path: Path) -> None:
    slurm = pytest.importorskip("submitit.slurm.slurm", reason="pip install 'artclf[scale]'")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm"], return_hydra_config=True)
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    script = slurm._make_sbatch_string(
        command="python -m artclf.train",
        folder=tmp_path,
        job_name=launcher["name"],
        signal_delay_s=launcher["signal_delay_s"],
        additional_parameters=launcher["additional_parameters"],
    )
    flags = [line for line in script.splitlines() if line.startswith("#SBATCH")]
    assert "#SBATCH --signal=USR1@90" in flags and "#SBATCH --requeue" in flags, flags
    assert not any("USR2" in flag for flag in flags)  # submitit's own signal is replaced
    assert launcher["name"] not in ("bash", "interactive")  # Lightning's SLURMEnvironment
