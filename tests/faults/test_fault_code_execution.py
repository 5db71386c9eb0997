"""Nothing runs from a file the suite reads: a checkpoint whose hyper-parameters name code
(here ``pwned_probe.run``, a module whose import alone writes a marker file: it stands in for
``pandas.read_pickle(<url>)`` and its kind) is refused by ``train ckpt_path=…`` in one line
before the named module is imported, and predict, explain and every model loader (the app's,
the pyfunc's, compare's: ``load_module``) never build what it names."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from fault_helpers import assert_one_error_line, run_cli
from PIL import Image

from artclf.runtime.targets import UntrustedTarget, allowed_targets, check_targets
from conftest import TINY_SYNTHETIC

LEGACY_CKPT = Path(__file__).parents[1] / "legacy_files" / "last.ckpt"

#: Where a payload can hide in a checkpoint's stored config: a new key, a list item, a
#: nested mapping, a replaced target, the scheduler and the data module.
HIDING_PLACES = {
    "optim.amsgrad": lambda hp, payload: hp["optim"].__setitem__("amsgrad", payload),
    "optim.betas[0]": lambda hp, payload: hp["optim"].__setitem__("betas", [payload, 0.999]),
    "scheduler": lambda hp, payload: hp.__setitem__("scheduler", payload),
    "data.synthetic": lambda hp, payload: hp["data"].__setitem__("synthetic", payload),
    "data._target_": lambda hp, payload: hp["data"].__setitem__("_target_", payload["_target_"]),
    "model.head": lambda hp, payload: hp["model"].__setitem__("head", payload),
}


def crafted(tmp_path: Path, place: str) -> tuple[Path, Path]:
    """A copy of a real training checkpoint with a payload at ``place``, and the file the
    payload's module writes the moment it is imported."""
    pwned = tmp_path / "pwned.txt"
    probe = f"from pathlib import Path\nPath({str(pwned)!r}).write_text('ran')\nrun = print\n"
    (tmp_path / "pwned_probe.py").write_text(probe)
    state = torch.load(LEGACY_CKPT, weights_only=True)
    payload = {"_target_": "pwned_probe.run", "value": 1}
    HIDING_PLACES[place](state["hyper_parameters"], payload)
    path = tmp_path / f"crafted-{place.replace('[', '').replace(']', '')}.ckpt"
    torch.save(state, path)
    return path, pwned


def test_the_allow_list_is_what_the_suite_writes() -> None:
    allowed = allowed_targets()
    assert {"torch.optim.AdamW", "artclf.data.datamodule.ArtDataModule"} <= allowed
    assert "artclf.models.optim.warmup_cosine" in allowed
    assert not {"pwned_probe.run", "pandas.read_pickle", "torch.load"} & allowed
    check_targets({"optim": {"_target_": "torch.optim.Adam", "_partial_": True}}, "x")
    with pytest.raises(UntrustedTarget, match=r"x names code to run \(a\[1\]\.b\._target_="):
        check_targets({"a": [1, {"b": {"_target_": "os.system"}}]}, "x")


@pytest.mark.parametrize("place", sorted(HIDING_PLACES))
def test_resume_refuses_a_checkpoint_that_names_code(
    make_cfg, tmp_path: Path, shared_cache: Path, place: str, monkeypatch
) -> None:
    from artclf.training.fit import train

    ckpt, pwned = crafted(tmp_path, place)
    monkeypatch.syspath_prepend(str(tmp_path))  # the payload's module can be imported
    cfg = make_cfg(
        f"ckpt_path={ckpt}",
        *TINY_SYNTHETIC,
        f"paths.cache_dir={shared_cache}",
        "logger=none",
        "trainer.accelerator=cpu",
    )
    with pytest.raises(UntrustedTarget, match="names code to run"):
        train(cfg)
    assert not pwned.exists() and "pwned_probe" not in sys.modules


def test_resume_from_the_command_line_is_one_error_line(tmp_path: Path) -> None:
    ckpt, pwned = crafted(tmp_path, "optim.amsgrad")
    done = run_cli(
        "train", f"ckpt_path={ckpt}", "logger=none", home=tmp_path, PYTHONPATH=str(tmp_path)
    )
    line = assert_one_error_line(done, "names code to run", "optim.amsgrad._target_=")
    assert "pwned_probe.run" in line and not pwned.exists()


def test_readers_of_checkpoints_never_build_what_they_name(
    make_cfg, tmp_path: Path, monkeypatch
) -> None:
    """evaluate, predict and explain, and ``load_module`` (the app's, the pyfunc's and the
    registry compare's loader) read the weights and never instantiate a stored config."""
    from artclf.evaluation.explanations import write_overlays
    from artclf.inference.classifier import load_module, rank, read_as_trained
    from artclf.predict import predict

    monkeypatch.syspath_prepend(str(tmp_path))
    image = tmp_path / "painting.png"
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(image)
    for place in HIDING_PLACES:
        ckpt, pwned = crafted(tmp_path, place)
        if place == "model.head":  # not a head the network knows: refused, never built
            with pytest.raises(ValueError, match="head"):
                load_module(ckpt)
            assert not pwned.exists()
            continue
        module = load_module(ckpt)
        paths, images = read_as_trained(module, [image], None)
        assert rank(module, images, top_k=1)[0]["origin_style"][0]["label"]
        (tmp_path / "overlays").mkdir(exist_ok=True)
        write_overlays(module, paths, images, tmp_path / "overlays", "gradcam", None, None)
        cfg = make_cfg(f"ckpt_path={ckpt}", f"input={image}", config_name="predict")
        assert predict(cfg)[0]["predictions"]
        assert not pwned.exists(), place
