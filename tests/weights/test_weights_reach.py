"""Missing pretrained weights fail at once: the cache is looked at first, then one request with
a bounded timeout; torchvision's and timm's own downloads (a minute or more to time out
without a network) are never started. The URL opener is mocked: no test waits on a network."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch

from artclf.style.taps import build_feature_taps
from artclf.weights import pretrained as pt
from artclf.weights.reach import CONNECT_TIMEOUT_S, hub_checkpoint_path


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list:
    """Empty caches, a network that refuses at once, and downloads that fail the test."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    calls = []

    def opener(request, timeout=None, **kwargs):
        calls.append((request.full_url, timeout))
        raise urllib.error.URLError("Name or service not known")

    def download(*args, **kwargs):
        pytest.fail("a download was started")

    monkeypatch.setattr(urllib.request, "urlopen", opener)
    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    monkeypatch.setattr("timm.models._hub.hf_hub_download", download)
    return calls


def test_missing_torchvision_weights_fail_after_one_bounded_request(unreachable: list) -> None:
    url = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    with pytest.raises(pt.PretrainedWeightsError, match=r"vgg19-dcbb9e9d\.pth"):
        build_feature_taps("vgg19")  # `stylize backbone=vgg19`
    assert unreachable == [(url, CONNECT_TIMEOUT_S)]
    assert CONNECT_TIMEOUT_S < 5


def test_cached_torchvision_weights_load_without_the_network(unreachable: list) -> None:
    weights = pt._torchvision_weights("resnet18", "DEFAULT")
    cached = hub_checkpoint_path(weights.url)
    cached.parent.mkdir(parents=True)
    source = pt.build_torchvision("resnet18")
    torch.save(source.state_dict(), cached)
    loaded = pt.build_torchvision("resnet18", pretrained=True)
    assert torch.equal(loaded.conv1.weight, source.conv1.weight)
    assert unreachable == []


def test_missing_timm_weights_fail_at_once(
    unreachable: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(pt.PretrainedWeightsError, match="timm weights for resnet34"):
        pt.build_timm("resnet34", pretrained=True)
    assert unreachable == []  # offline: not even one request

    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(pt.PretrainedWeightsError, match="timm weights for resnet34"):
        pt.build_timm("resnet34", pretrained=True)
    ((url, timeout),) = unreachable
    assert url.endswith("/timm/resnet34.a1_in1k") and timeout == CONNECT_TIMEOUT_S
