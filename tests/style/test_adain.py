"""AdaIN: the layer moves statistics, alpha and style mixing behave, a short training lowers
the style loss, and the train → register → stylize round trip through the registry works."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient
from PIL import Image

from artclf.style import image_io
from artclf.style.adain import adain
from artclf.style.adain_model import AdaINModule, load_adain
from artclf.style.errors import StyleTransferError
from artclf.style.losses import gram_matrix, mean_std, style_loss
from conftest import tiny_adain
from fixtures import STYLE_SIZE as SIZE
from fixtures import gradient_image, stripes_image, tensor_folder


def test_adain_moves_channel_statistics_to_the_style() -> None:
    torch.manual_seed(0)
    content, style = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8) * 3 + 1
    out = adain(content, *mean_std(style))
    for got, want in zip(mean_std(out), mean_std(style), strict=True):
        assert torch.allclose(got, want, atol=1e-3)


def test_alpha_zero_is_the_decoded_content_and_styles_mix() -> None:
    torch.manual_seed(0)
    net = AdaINModule(pretrained=False, decoder_width=16).net.eval()
    content, style_a, style_b = (
        gradient_image((0.9, 0.5, 0.2)),
        stripes_image((1, 0.1, 0.1)),
        stripes_image((0, 0, 1)),
    )
    with torch.no_grad():
        decoded = net.decoder(net.taps(content)[net.layer])
        assert torch.allclose(net(content, [style_a], alpha=0.0), decoded, atol=1e-5)
        assert torch.allclose(net(content, [style_b], alpha=0.0), decoded, atol=1e-5)
        # weight 1 on one style is that style alone; an even mix lies between the two
        only_a = net(content, [style_a, style_b], weights=[1.0, 0.0])
        assert torch.allclose(only_a, net(content, [style_a]), atol=1e-6)
        mean_a, std_a = net.style_statistics([style_a])
        mean_b, std_b = net.style_statistics([style_b])
        mean_mix, std_mix = net.style_statistics([style_a, style_b], [1.0, 3.0])
        assert torch.allclose(mean_mix, 0.25 * mean_a + 0.75 * mean_b, atol=1e-6)
        assert torch.allclose(std_mix, 0.25 * std_a + 0.75 * std_b, atol=1e-6)
        # alpha blends the decoder's input between the content's features and the AdaIN target
        features = net.taps(content)[net.layer]
        full, half = net.target(content, mean_a, std_a), net.target(content, mean_a, std_a, 0.5)
        assert not torch.allclose(full, features, atol=1e-2)
        assert torch.allclose(half, (full + features) / 2, atol=1e-5)
    with pytest.raises(StyleTransferError, match="one weight per style"):
        net(content, [style_a, style_b], weights=[1.0])
    with pytest.raises(StyleTransferError, match="alpha"):
        net(content, [style_a], alpha=1.5)


def test_training_steps_lower_the_style_loss_below_the_content_image() -> None:
    """A few dozen steps on one pair: the alpha=1 output is measurably closer to the style
    (the Gram style loss Gatys reports) than the content image is, and more than alpha=0."""
    torch.manual_seed(0)
    module = AdaINModule(decoder_width=32, style_weight=10.0)
    content, style = gradient_image((0.9, 0.5, 0.2)), stripes_image((1.0, 0.1, 0.1))
    optimizer = torch.optim.Adam(module.net.decoder.parameters(), lr=1e-3)
    for _ in range(40):
        loss, _ = module.losses(content, style)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    taps, net = module.net.taps, module.net.eval()
    with torch.no_grad():
        grams = {k: gram_matrix(v) for k, v in taps(style).items()}

        def measured(image: torch.Tensor) -> float:
            return style_loss(taps(image.clamp(0, 1)), grams, taps.style_layers).item()

        styled, plain = measured(net(content, [style])), measured(net(content, [style], 0.0))
        baseline = measured(content)
    assert styled < 0.7 * baseline, (styled, baseline)
    assert styled < plain


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    colours = [(0.9, 0.5, 0.2), (0.2, 0.6, 0.9), (0.5, 0.9, 0.3), (0.8, 0.8, 0.8)]
    contents = tensor_folder(tmp_path / "photos", [gradient_image(c) for c in colours])
    styles = tensor_folder(
        tmp_path / "paintings", [stripes_image(c, 2 + i) for i, c in enumerate(colours)]
    )
    return contents, styles


def test_train_register_and_stylize_through_the_registry(
    folders: tuple[Path, Path], make_cfg, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from artclf.stylize import stylize
    from artclf.train import train

    contents, styles = folders
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("HOME", str(tmp_path))  # the registry's download cache
    cfg = make_cfg(*tiny_adain(contents, styles, uri, SIZE), "trainer.precision=32-true")
    assert math.isfinite(train(cfg))

    client = MlflowClient(uri)
    (run,) = client.search_runs([client.get_experiment_by_name("artclf-train").experiment_id])
    for key in ("train/content_epoch", "train/style_epoch", "val/loss", "val/style"):
        assert math.isfinite(run.data.metrics[key]), key
    assert [a.path for a in client.list_artifacts(run.info.run_id, "samples")] == [
        "samples/epoch000.png"
    ]
    version = client.get_model_version_by_alias("adain", "champion")
    assert version.run_id == run.info.run_id
    # The checkpoint holds the decoder only; the frozen encoder comes back from its weights.
    ckpt = torch.load(Path(cfg.paths.run_dir) / "checkpoints" / "last.ckpt", weights_only=True)
    assert not any(k.startswith("net.taps.") for k in ckpt["state_dict"])
    net = load_adain("models:/adain@champion")
    assert net.decoder.net[1].out_channels == 16
    assert version.source.startswith("models:/m-")  # the logged style-transfer model

    # The registered model stylises (content, style) pairs in a plain Python session, with the
    # same pixels as the decoder itself.
    content, style = contents / "0.png", styles / "1.png"
    script = f"""
import mlflow, numpy as np, pandas as pd
model = mlflow.pyfunc.load_model("models:/adain@champion")
style = open({str(style)!r}, "rb").read()  # bytes, as a served request holds them
pairs = pd.DataFrame({{"content": [{str(content)!r}], "style": [style]}})
out = model.predict(pairs, params={{"alpha": 0.5}})
assert model.metadata.signature is not None and model.metadata.saved_input_example_info
np.save({str(tmp_path / "served.npy")!r}, out[0])
"""
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    image = net.fit_size(image_io.read_image_tensor(str(content), SIZE))
    fitted = image_io.fit_to(image_io.read_image_tensor(str(style)), *image.shape[-2:])
    with torch.no_grad():
        own = net(image, [fitted], 0.5)
    served = np.load(tmp_path / "served.npy")
    assert served.dtype == np.uint8 and served.shape == (*image.shape[-2:], 3)
    np.testing.assert_array_equal(served, np.asarray(image_io.to_pil(own.clamp(0, 1))))

    out_dir = tmp_path / "styled"
    metrics = stylize(
        make_cfg(
            "method=adain",
            "ckpt_path=models:/adain@champion",
            f"content={contents}",
            f"style=[{styles / '0.png'},{styles / '1.png'}]",
            "style_weights=[0.5,0.5]",
            "preserve_colour=true",
            f"size={SIZE}",
            f"paths.run_dir={out_dir}",
            f"logger.tracking_uri={uri}",
            config_name="stylize",
        )
    )
    assert math.isfinite(metrics["final/ssim"]) and metrics["final/seconds_per_image"] > 0
    pairs = json.loads((out_dir / "pairs.json").read_text())
    assert len(pairs) == 4  # batch mode: every content image of the folder, styles mixed
    with Image.open(out_dir / f"{Path(pairs[0]['content']).stem}__mix.png") as image:
        assert image.size == (SIZE, SIZE)


def test_adain_without_a_model_or_with_a_bad_uri_is_one_clear_line(make_cfg) -> None:
    from artclf.stylize import stylize

    pair = ("content=skimage:astronaut", "style=skimage:astronaut", "logger=none")
    with pytest.raises(StyleTransferError, match="the AdaIN method needs a trained decoder"):
        stylize(make_cfg("method=adain", *pair, config_name="stylize"))
    with pytest.raises(StyleTransferError, match="does not exist"):
        stylize(make_cfg("method=adain", "ckpt_path=/no/such.ckpt", *pair, config_name="stylize"))
    with pytest.raises(StyleTransferError, match="unknown method"):
        stylize(make_cfg("method=johnson", "logger=none", config_name="stylize"))
