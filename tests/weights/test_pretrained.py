"""The offline weight loader: bundled EfficientNet-Lite0 is real ImageNet, missing hub weights
fail with one line naming the cache file, local files load."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch

from artclf.weights import pretrained as pt


def test_lite0_bundled_weights_classify_a_real_photo() -> None:
    skdata = pytest.importorskip("skimage.data")
    from timm.data import ImageNetInfo

    model = pt.load_efficientnet_lite0().eval()
    image = torch.from_numpy(skdata.coffee()).permute(2, 0, 1).float().div(255)[None]
    image = torch.nn.functional.interpolate(image, size=(224, 224), antialias=True, mode="bilinear")
    mean, std = torch.tensor(pt.LITE0_MEAN), torch.tensor(pt.LITE0_STD)
    with torch.no_grad():
        probs = model((image - mean[:, None, None]) / std[:, None, None]).softmax(-1)[0]
    top = int(probs.argmax())
    assert ImageNetInfo().index_to_description(top) == "espresso"
    assert probs[top] > 0.5  # random weights would give ~0.001


def test_lite0_heads_and_features_share_the_bundled_weights() -> None:
    full = pt.load_efficientnet_lite0()
    head = pt.load_efficientnet_lite0(num_classes=7)
    features = pt.load_efficientnet_lite0(features_only=True, out_indices=(1, 2))
    stem = full.conv_stem.weight
    assert torch.equal(head.conv_stem.weight, stem)
    assert torch.equal(features.conv_stem.weight, stem)
    assert head.classifier.out_features == 7
    assert [f.shape[1] for f in features(torch.zeros(1, 3, 64, 64))] == [24, 40]


def test_missing_hub_weights_raise_one_line_naming_the_cache_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(pt.PretrainedWeightsError) as err:
        pt.build_torchvision("resnet18", pretrained=True)
    message = str(err.value)
    assert "\n" not in message
    assert str(tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth") in message
    assert "efficientnet_lite0" in message


def test_local_weight_file_loads_and_missing_file_is_clear(tmp_path: Path) -> None:
    source = pt.build_torchvision("resnet18", pretrained=False, num_classes=3)
    path = tmp_path / "resnet18.pth"
    torch.save(source.state_dict(), path)
    loaded = pt.build_torchvision("resnet18", pretrained=str(path), num_classes=3)
    assert torch.equal(loaded.fc.weight, source.fc.weight)
    with pytest.raises(pt.PretrainedWeightsError, match="does not exist"):
        pt.build_torchvision("resnet18", pretrained=str(tmp_path / "absent.pth"))


def test_unknown_names_are_clear() -> None:
    with pytest.raises(ValueError, match="unknown torchvision model 'resnet5'"):
        pt.build_torchvision("resnet5")
    with pytest.raises(pt.PretrainedWeightsError, match="has no weights 'IMAGENET9'"):
        pt.build_torchvision("resnet18", pretrained="IMAGENET9")


@pytest.mark.parametrize("variant, size", [(1, 240), (2, 260)])
def test_lite1_lite2_bundled_weights_see_the_cat(variant: int, size: int) -> None:
    """Through ``build_timm`` (the ``model=efficientnet_lite1|2`` path), at each model's own
    input size and [-1, 1] scaling: skimage's photo of Chelsea is an ImageNet cat (281-285)."""
    skdata = pytest.importorskip("skimage.data")
    model = pt.build_timm(f"tf_efficientnet_lite{variant}", pretrained=True).eval()
    image = torch.from_numpy(skdata.chelsea()).permute(2, 0, 1).float().div(255)[None]
    image = torch.nn.functional.interpolate(
        image, size=(size, size), antialias=True, mode="bilinear"
    )
    mean, std = torch.tensor(pt.LITE0_MEAN), torch.tensor(pt.LITE0_STD)
    with torch.no_grad():
        probs = model((image - mean[:, None, None]) / std[:, None, None]).softmax(-1)[0]
    top = int(probs.argmax())
    assert 281 <= top <= 285, top
    assert probs[281:286].sum() > 0.5  # random weights would give ~0.005


def test_unknown_lite_variant_is_clear() -> None:
    with pytest.raises(ValueError, match="no bundled EfficientNet-Lite3"):
        pt.load_efficientnet_lite(3)
