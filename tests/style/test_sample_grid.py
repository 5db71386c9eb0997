"""The sample grids of the image-to-image models are a callback's work: the modules only return
their image columns from ``validation_step``, and ``SampleGrid`` saves and logs the grid."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.tracking import MlflowClient
from PIL import Image
from torch.utils.data import DataLoader

from artclf.style.cyclegan import CycleGAN
from artclf.training.report_callbacks import SampleGrid

SIZE, BATCH = 32, 2


def pairs(count: int) -> DataLoader:
    """Unpaired (A, B) batches in [-1, 1], as ``UnpairedDataModule`` gives them."""
    images = torch.rand(count, 2, 3, SIZE, SIZE).mul(2).sub(1)
    return DataLoader([(a, b) for a, b in images], batch_size=BATCH)


def fit(tmp_path: Path, callbacks: list, logger=False) -> None:
    """Two training steps and two validation batches of a tiny CycleGAN."""
    module = CycleGAN(ngf=4, ndf=4, n_res_blocks=1, fid=False, max_epochs=1)
    trainer = L.Trainer(
        max_epochs=1,
        limit_train_batches=2,
        limit_val_batches=2,
        num_sanity_val_steps=0,
        accelerator="cpu",
        default_root_dir=tmp_path,
        callbacks=callbacks,
        logger=logger,
        enable_progress_bar=False,
        enable_checkpointing=False,
        enable_model_summary=False,
    )
    trainer.fit(module, train_dataloaders=pairs(4), val_dataloaders=pairs(4))


def test_cyclegan_grid_holds_n_rows_of_six_columns_and_reaches_mlflow(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logger = MLFlowLogger(experiment_name="grids", tracking_uri=uri)
    fit(tmp_path, [SampleGrid(n_samples=3, value_range=(-1.0, 1.0))], logger)

    grid = Image.open(tmp_path / "samples" / "epoch000.png")
    # make_grid: 2-pixel padding around and between the cells; 3 of the 4 held-out rows
    assert grid.size == (6 * (SIZE + 2) + 2, 3 * (SIZE + 2) + 2)
    client = MlflowClient(uri)
    artifacts = [a.path for a in client.list_artifacts(logger.run_id, "samples")]
    assert artifacts == ["samples/epoch000.png"]
    assert client.list_artifacts(logger.run_id, "images"), "no keyed image 'samples'"


def test_without_the_callback_the_module_logs_no_grid(tmp_path: Path) -> None:
    fit(tmp_path, [])
    assert not (tmp_path / "samples").exists()


def test_the_grid_maps_the_value_range_to_pixels(tmp_path: Path) -> None:
    grid = SampleGrid(n_samples=1, value_range=(-1.0, 1.0))
    trainer = L.Trainer(default_root_dir=tmp_path, logger=False, accelerator="cpu")
    black, white = torch.full((1, 3, 4, 4), -1.0), torch.ones(1, 3, 4, 4)
    grid.on_validation_epoch_start(trainer, None)
    grid.on_validation_batch_end(trainer, None, (black, white), None, 0)
    grid.on_validation_batch_end(trainer, None, (white, white), None, 1)  # already has 1 row
    path = grid.log_grid(trainer, epoch=7)
    assert path == tmp_path / "samples" / "epoch007.png"
    pixels = torch.tensor(list(Image.open(path).convert("L").getdata())).view(8, 14)
    assert pixels[2:6, 2:6].max() == 0 and pixels[2:6, 8:12].min() == 255


def test_cyclegan_validation_step_returns_the_grid_columns() -> None:
    module = CycleGAN(ngf=4, ndf=4, n_res_blocks=1, fid=False)
    batch = next(iter(pairs(2)))
    with torch.no_grad():
        columns = module.validation_step(batch, 0)
    assert len(columns) == 6  # real A | fake B | rec A | real B | fake A | rec B
    assert all(c.shape == (BATCH, 3, SIZE, SIZE) for c in columns)
