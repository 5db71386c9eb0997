"""Multi-node DDP on SLURM (``hydra/launcher=slurm trainer=slurm``): the launcher asks for one
task per GPU on every node, Lightning takes each task's rank from SLURM's variables, and only
rank 0 of a job opens an MLflow run. No cluster here: the variables are those a 2-node job
with 4 GPUs per node sets in its task 5."""

from __future__ import annotations

import os
from collections.abc import Iterator

import lightning as L
import pytest
from hydra import compose, initialize_config_dir
from lightning.fabric.utilities.rank_zero import rank_zero_only as fabric_rank_zero_only
from lightning.pytorch.plugins.environments import SLURMEnvironment
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from omegaconf import OmegaConf

from artclf.runtime.config import CONFIG_DIR, to_plain
from artclf.runtime.distributed import check_slurm_tasks, launch_rank, one_device_tester
from artclf.tracking import start_run

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'artclf[scale]'")

MULTI_NODE = ("hydra/launcher=slurm", "trainer=slurm", "trainer.num_nodes=2", "trainer.devices=4")
#: What SLURM sets in task 5 of `sbatch --nodes=2 --ntasks-per-node=4` (submitit's srun).
TASK_5_OF_8 = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NAME": "train",
    "SLURM_NTASKS": "8",
    "SLURM_NTASKS_PER_NODE": "4",
    "SLURM_NNODES": "2",
    "SLURM_NODELIST": "gpu[07-08]",
    "SLURM_PROCID": "5",
    "SLURM_LOCALID": "1",
    "SLURM_NODEID": "1",
}


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


@pytest.fixture
def slurm_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SLURM's variables for task 5; afterwards, the process as it was: a Trainer built here
    sets Lightning's global rank (rank_zero_only.rank = 5 would silence every later test's
    rank-zero logging) and may export variables of its own."""
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in TASK_5_OF_8.items():
        monkeypatch.setenv(key, value)
    environment, rank = dict(os.environ), rank_zero_only.rank
    yield
    os.environ.clear()
    os.environ.update(environment)
    for holder in (rank_zero_only, fabric_rank_zero_only):
        holder.rank = rank


def test_the_launcher_asks_slurm_for_one_task_per_gpu_on_every_node() -> None:
    readme = ("hydra.launcher.timeout_min=720", "hydra.launcher.cpus_per_task=8")
    readme += ("hydra.launcher.mem_gb=64", "experiment=wikiart_sample_best", "data.root=/d")
    cfg = composed(*MULTI_NODE, "hydra.launcher.partition=gpu", *readme)  # README's example
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    assert launcher["_target_"].endswith("SlurmLauncher") and launcher["partition"] == "gpu"
    assert (launcher["nodes"], launcher["tasks_per_node"], launcher["gpus_per_node"]) == (2, 4, 4)
    assert (launcher["timeout_min"], launcher["mem_gb"]) == (720, 64)
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.accelerator == "gpu"
    single = OmegaConf.to_container(composed("hydra/launcher=slurm").hydra.launcher, resolve=True)
    assert (single["nodes"], single["tasks_per_node"], single["gpus_per_node"]) == (1, 1, 1)


def test_lightning_takes_the_ranks_from_slurm(slurm_task: None) -> None:
    cfg = composed(*MULTI_NODE)
    settings = {**to_plain(cfg.trainer), "accelerator": "cpu", "precision": "32-true"}
    trainer = L.Trainer(**settings, logger=False, enable_checkpointing=False)
    assert isinstance(trainer.strategy.cluster_environment, SLURMEnvironment)
    assert (trainer.world_size, trainer.global_rank, trainer.node_rank) == (8, 5, 1)
    assert trainer.local_rank == 1 and trainer.num_nodes == 2 and trainer.num_devices == 4
    assert trainer.strategy.cluster_environment.main_address == "gpu07"
    check_slurm_tasks(cfg.trainer)  # 2 nodes × 4 devices = the job's 8 tasks
    tester = one_device_tester(trainer, OmegaConf.create(settings))  # rank 0's: this process
    assert (tester.world_size, tester.global_rank, tester.num_devices) == (1, 0, 1)


def test_only_rank_zero_opens_a_run(slurm_task: None, make_cfg, tmp_path) -> None:
    assert launch_rank() == 5
    store = tmp_path / "mlflow.db"
    cfg = make_cfg(*MULTI_NODE[1:], f"logger.tracking_uri=sqlite:///{store}")
    with start_run(cfg) as run:
        assert run is None
    assert not store.exists()


def test_tasks_that_do_not_match_the_trainer_are_one_line(
    slurm_task: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"8 task\(s\) but trainer.num_nodes × trainer.devices"):
        check_slurm_tasks(composed().trainer)  # 1 × 1 would train 8 times alone
    with pytest.raises(ValueError, match=r"pass trainer=slurm \(and set trainer\.num_nodes"):
        check_slurm_tasks(composed("trainer=ddp").trainer)  # ddp_spawn inside SLURM tasks
    monkeypatch.setenv("SLURM_JOB_NAME", "bash")  # an interactive allocation: not managed
    check_slurm_tasks(composed().trainer)
    assert launch_rank() == 0
