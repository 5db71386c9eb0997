"""CycleGAN: networks' shapes, the image pool, and a few training steps on tiny synthetic
domains through the real train entry (losses finite, sample grids and FID/KID logged)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.data.sources.base import DatasetLayoutError
from artclf.data.unpaired import UnpairedDataModule
from artclf.style.cyclegan import (
    CycleGAN,
    ImagePool,
    PatchDiscriminator,
    ResnetGenerator,
    load_generator,
)
from conftest import PIXEL_ATOL

TINY = (
    "cyclegan.ngf=4",
    "cyclegan.ndf=4",
    "cyclegan.n_res_blocks=1",
    "cyclegan.decay_start_epoch=1",
    "cyclegan.fid_min_images=4",
    "cyclegan.kid_subset_size=2",
    "data.image_size=32",
    "data.load_size=36",
    "data.num_workers=0",
    "data.batch_size=2",
    "data.val_fraction=0.5",
    "trainer.max_epochs=2",
    "trainer.limit_train_batches=2",
    "trainer.accelerator=cpu",
    "trainer.precision=32-true",
    "callbacks.progress_bar=false",
)


def _domain(root: Path, kind: str, n: int = 8) -> Path:
    """Smooth colour gradients (A) or high-contrast stripes (B), 40 px, plus a junk file."""
    root.mkdir()
    rng = np.random.default_rng(0 if kind == "a" else 1)
    ramp = np.linspace(0, 1, 40)
    for i in range(n):
        if kind == "a":
            colour = rng.uniform(0.2, 1.0, 3)
            image = ramp[None, :, None] * colour[None, None, :] * np.ones((40, 1, 1))
        else:
            period = rng.integers(3, 8)
            stripes = (np.arange(40) // period) % 2
            image = stripes[:, None, None] * np.ones((1, 40, 3))
        Image.fromarray((image * 255).astype(np.uint8)).save(root / f"{kind}{i}.png")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def domains(tmp_path: Path) -> tuple[Path, Path]:
    return _domain(tmp_path / "photos", "a"), _domain(tmp_path / "paintings", "b")


@pytest.mark.parametrize("upsample", ["deconv", "resize"])
def test_generator_keeps_size_and_range(upsample: str) -> None:
    generator = ResnetGenerator(ngf=4, n_blocks=1, upsample=upsample)
    out = generator(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out.shape == (2, 3, 32, 32)
    assert out.abs().max() <= 1


def test_patch_discriminator_scores_patches() -> None:
    # 70x70 receptive field: a 256-px image gets a 30x30 grid of patch scores.
    assert PatchDiscriminator(ndf=4)(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)


def test_image_pool_returns_past_fakes_once_full() -> None:
    pool = ImagePool(size=2)
    first = torch.zeros(2, 3, 4, 4)
    assert torch.equal(pool.query(first), first)  # filling: fakes pass through
    torch.manual_seed(0)
    mixed = torch.cat([pool.query(torch.ones(2, 3, 4, 4)) for _ in range(20)])
    assert (mixed.flatten(1).amax(1) == 0).any()  # some old fakes come back
    assert (mixed.flatten(1).amax(1) == 1).any()


def test_lr_is_flat_then_decays_linearly() -> None:
    module = CycleGAN(ngf=4, ndf=4, n_res_blocks=1, max_epochs=4, decay_start_epoch=2)
    factors = [module._decay(epoch) for epoch in range(4)]
    assert factors == pytest.approx([1.0, 1.0, 2 / 3, 1 / 3])


def test_missing_domain_is_one_clear_line(tmp_path: Path) -> None:
    datamodule = UnpairedDataModule(domain_a=str(tmp_path / "nope"), domain_b=None)
    with pytest.raises(DatasetLayoutError, match=r"data\.domain_a") as err:
        datamodule.setup("fit")
    assert "\n" not in str(err.value)


def test_cyclegan_trains_logs_grids_and_translates(
    domains: tuple[Path, Path], make_cfg, tmp_path: Path
) -> None:
    from artclf.train import train

    domain_a, domain_b = domains
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = make_cfg(
        "experiment=cyclegan_monet",
        f"data.domain_a={domain_a}",
        f"data.domain_b={domain_b}",
        f"logger.tracking_uri={uri}",
        *TINY,
    )
    score = train(cfg)
    assert math.isfinite(score)

    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-cyclegan").experiment_id])
    metrics = run.data.metrics
    for key in ("train/g_epoch", "train/d_a_epoch", "train/cycle_epoch", "val/cycle_loss"):
        assert math.isfinite(metrics[key]), key
    assert math.isfinite(metrics["val/fid"]) and math.isfinite(metrics["val/kid"])
    samples = [a.path for a in client.list_artifacts(run.info.run_id, "samples")]
    assert samples == ["samples/epoch000.png", "samples/epoch001.png"]

    ckpt = Path(cfg.paths.run_dir) / "checkpoints" / "last.ckpt"
    generator = load_generator(str(ckpt), "b2a")
    with torch.no_grad():
        assert generator(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_registered_cyclegan_translates_by_uri_in_a_fresh_process(
    domains: tuple[Path, Path], make_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """logger.register=true logs the translator model and registers it; loaded by
    ``models:/cyclegan@champion`` in another process it gives, both ways, exactly what the
    module's own generators give, and stylize and the app take the same URI."""
    import os
    import subprocess
    import sys

    from artclf.app.stylise import load_cyclegan
    from artclf.style import image_io
    from artclf.style.cyclegan.apply import translate
    from artclf.stylize import stylize
    from artclf.train import train

    domain_a, domain_b = domains
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    tiny = [o for o in TINY if not o.startswith("trainer.max_epochs")]
    cfg = make_cfg(
        "experiment=cyclegan_monet",
        f"data.domain_a={domain_a}",
        f"data.domain_b={domain_b}",
        f"logger.tracking_uri={uri}",
        "logger.register=true",
        "cyclegan.fid=false",
        "trainer.max_epochs=1",
        *tiny,
    )
    assert math.isfinite(train(cfg))
    client = MlflowClient(uri)
    version = client.get_model_version_by_alias("cyclegan", "champion")
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-cyclegan").experiment_id])
    assert version.run_id == run.info.run_id
    assert version.source.startswith("models:/m-")  # the logged translator model

    image = sorted(domain_a.glob("*.png"))[0]
    script = f"""
import mlflow, numpy as np
model = mlflow.pyfunc.load_model("models:/cyclegan@champion")
a2b = model.predict([{str(image)!r}])
b2a = model.predict([open({str(image)!r}, "rb").read()], params={{"direction": "b2a"}})
assert model.metadata.signature is not None and model.metadata.saved_input_example_info
np.save({str(tmp_path / "a2b.npy")!r}, a2b[0]); np.save({str(tmp_path / "b2a.npy")!r}, b2a[0])
"""
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]

    ckpt = Path(cfg.paths.run_dir) / "checkpoints" / "last.ckpt"
    pixels = image_io.read_image_tensor(str(image), 32)  # the training size is the default
    for direction in ("a2b", "b2a"):
        served = np.load(tmp_path / f"{direction}.npy")
        own = np.asarray(image_io.to_pil(translate(load_generator(str(ckpt), direction), pixels)))
        assert served.dtype == np.uint8 and served.shape == (32, 32, 3)
        np.testing.assert_allclose(served.astype(int), own.astype(int), atol=PIXEL_ATOL)

    # stylize and the app's registered-generator option go through the same registry URI
    out = tmp_path / "styled"
    stylize(
        make_cfg(
            "method=cyclegan",
            "ckpt_path=models:/cyclegan@champion",
            f"input={image}",
            "size=32",
            f"logger.tracking_uri={uri}",
            f"paths.run_dir={out}",
            config_name="stylize",
        )
    )
    written = np.asarray(Image.open(out / f"{image.stem}__a2b.png").convert("RGB"))
    np.testing.assert_array_equal(written, np.load(tmp_path / "a2b.npy"))
    generator = load_cyclegan("models:/cyclegan@champion")
    np.testing.assert_array_equal(
        np.asarray(image_io.to_pil(translate(generator, pixels))), np.load(tmp_path / "a2b.npy")
    )
