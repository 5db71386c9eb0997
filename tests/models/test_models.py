"""Model configs build and run; freezing, the style head, multi-task, the phase switch, and
the offline EfficientNet-Lite0 weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import BaseFinetuning

from artclf.models.classifier import create_classifier
from artclf.models.heads import GramNeck
from artclf.models.module import ClassificationModule
from artclf.runtime.config import CONFIG_DIR, to_plain
from artclf.training.finetune import TwoPhaseFinetuning, top_layers

MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("*.yaml"))


def model_cfg(make_cfg, name: str, *overrides: str) -> dict:
    return to_plain(make_cfg(f"model={name}", "model.pretrained=false", *overrides).model)


@pytest.mark.parametrize("name", MODELS)
def test_each_model_config_builds_and_gives_logits(make_cfg, name: str) -> None:
    size = 32 if name.endswith("_32") else 64
    net = create_classifier(model_cfg(make_cfg, name, f"model.image_size={size}"), {"style": 7})
    assert {k: v.shape for k, v in net(torch.randn(2, 3, size, size)).items()} == {"style": (2, 7)}
    assert net.get_submodule(net.cam_layer) is not None


def test_study_heads_have_the_studies_layers(make_cfg) -> None:
    cfg = model_cfg(make_cfg, "resnet50_224", "model.image_size=64")
    resnet = create_classifier(cfg, {"style": 4})
    widths = [m.out_features for m in resnet.heads["style"] if isinstance(m, torch.nn.Linear)]
    assert widths == [512, 16, 4]
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in resnet.heads["style"]) == 2
    custom = create_classifier(model_cfg(make_cfg, "custom_cnn_224"), {"artist": 11})
    dense = [m for m in custom.heads["artist"] if isinstance(m, torch.nn.Linear)]
    assert dense[0].in_features == 128 * 28 * 28 and dense[0].out_features == 64
    assert any(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in custom.heads["artist"])


def test_freeze_stops_gradients_only_where_asked(make_cfg) -> None:
    frozen = ["conv1", "bn1", "layer1", "layer2"]
    net = create_classifier(
        model_cfg(make_cfg, "resnet18_32", f"model.freeze=[{','.join(frozen)}]"), {"style": 3}
    )
    for name, param in net.body.named_parameters():
        assert param.requires_grad == (name.split(".")[0] not in frozen), name
    assert all(p.requires_grad for p in net.heads.parameters())
    with pytest.raises(ValueError, match=r"model\.freeze: no layer"):
        create_classifier(model_cfg(make_cfg, "resnet18_32", "model.freeze=[layer9]"), {"s": 3})


def test_the_neck_was_model_head_in_older_checkpoints(make_cfg) -> None:
    old = {k: v for k, v in model_cfg(make_cfg, "resnet18_32").items() if k not in ("neck", "head")}
    assert not isinstance(create_classifier({**old, "head": "dense"}, {"s": 3}).neck, GramNeck)
    assert isinstance(create_classifier({**old, "head": "gram"}, {"s": 3}).neck, GramNeck)
    with pytest.raises(
        ValueError, match=r"model.head='gram' is now model.neck; use model.neck=gram"
    ):
        create_classifier(model_cfg(make_cfg, "resnet18_32", "model.head=gram"), {"s": 3})


@pytest.mark.parametrize("neck", ["gram", "gram+gap"])
def test_gram_neck_describes_texture_per_stage(make_cfg, neck: str) -> None:
    cfg = model_cfg(make_cfg, "resnet18_32", f"model.neck={neck}", "model.gram_channels=8")
    net = create_classifier(cfg, {"style": 5})
    assert isinstance(net.neck, GramNeck) and len(net.neck.reduce) == 4
    images = torch.randn(3, 3, 32, 32)
    features, taps = net.body.forward_taps(images)
    vector = net.neck(features, taps)
    per_stage = 8 * 9 // 2
    assert vector.shape == (3, 4 * per_stage + (512 if neck == "gram+gap" else 0))
    # a Gram matrix ignores where things are: shuffling pixels of every tap leaves it unchanged
    shuffled = [t.flatten(2)[..., torch.randperm(t[0, 0].numel())].view_as(t) for t in taps]
    gram_only = GramNeck(4, 8)
    gram_only.load_state_dict(net.neck.state_dict())
    torch.testing.assert_close(gram_only(features, taps), gram_only(features, shuffled))
    net(images)["style"].sum().backward()
    assert all(r.weight.grad is not None for r in net.neck.reduce)


def test_multi_task_has_one_head_loss_and_metrics_per_task(make_cfg) -> None:
    module = ClassificationModule(
        model=model_cfg(make_cfg, "simple_cnn_32"),
        class_names={"style": ["a", "b", "c"], "origin": ["AI", "human"]},
        optim={"name": "adam", "lr": 1e-3},
        class_weights={"style": [1.0, 2.0, 1.0], "origin": None},
    )
    out = module(torch.randn(4, 3, 32, 32))
    assert {k: v.shape for k, v in out.items()} == {"style": (4, 3), "origin": (4, 2)}
    assert module.losses["style"].weight.tolist() == [1.0, 2.0, 1.0]
    assert module.losses["origin"].weight is None
    targets = {"style": torch.tensor([0, 1, 2, 0]), "origin": torch.tensor([0, 1, 1, 0])}
    logged: dict[str, float] = {}
    module.log = lambda name, value, **_: logged.__setitem__(name, float(value.detach()))
    module.log_dict = lambda values, **_: None
    loss = module._step((torch.randn(4, 3, 32, 32), targets), "val")
    assert {"val/style/loss", "val/origin/loss", "val/loss", "val/acc"} <= logged.keys()
    assert loss.item() == pytest.approx(logged["val/style/loss"] + logged["val/origin/loss"])
    assert module.metrics["val_style"].prefix == "val/style/"


def test_two_phase_callback_freezes_core_but_top_layers_at_switch(make_cfg) -> None:
    module = ClassificationModule(
        model=model_cfg(make_cfg, "resnet50_224", "model.image_size=32"),
        class_names={"style": ["a", "b"]},
        optim={"name": "adam", "lr": 1e-3},
    )
    callback = TwoPhaseFinetuning(switch_epoch=2, top_layers=50)
    assert isinstance(callback, BaseFinetuning)
    body = module.net.body
    callback.finetune_function(module, epoch=1, optimizer=None)
    assert all(p.requires_grad for p in body.parameters())
    callback.finetune_function(module, epoch=2, optimizer=None)
    top = top_layers(body, 50)
    top_ids = {id(p) for layer in top for p in layer.parameters()}
    assert len(top) == 50 and top[-1] is body.layer4[-1].bn3
    for param in body.parameters():
        assert param.requires_grad == (id(param) in top_ids)
    assert all(p.requires_grad for p in module.net.heads.parameters())
    assert not body.conv1.weight.requires_grad


def test_efficientnet_lite0_loads_real_imagenet_weights(make_cfg) -> None:
    """The bundled weights recognise a real photo: skimage's cup of coffee is ImageNet's
    'espresso' (967) or 'cup' (968), with confidence."""
    from skimage.data import coffee

    from artclf.inference.classifier import to_model_input
    from artclf.weights.pretrained import load_efficientnet_lite0

    photo = torch.from_numpy(np.ascontiguousarray(coffee()))
    image = torch.nn.functional.interpolate(
        photo.permute(2, 0, 1)[None].float(), size=(224, 224), mode="bilinear"
    ).permute(0, 2, 3, 1)
    cfg = to_plain(make_cfg("model=efficientnet_lite0").model)
    net = create_classifier(cfg, {"imagenet": 1000})
    imagenet = load_efficientnet_lite0(num_classes=1000)
    net.heads["imagenet"][-1].load_state_dict(imagenet.classifier.state_dict())
    with torch.no_grad():
        logits = net.eval()(to_model_input(image.round().to(torch.uint8)))["imagenet"]
        probs = logits.softmax(1)[0]
    top = int(probs.argmax())
    assert top in (967, 968) and float(probs[top]) > 0.5


def test_multi_task_training_and_evaluation_end_to_end(make_cfg, tmp_path) -> None:
    """``data.labels=[style,origin]``: one backbone, a head, loss and metrics per label;
    ``evaluate`` scores every task of the checkpoint."""
    from artclf.evaluate import evaluate
    from artclf.train import train
    from conftest import TINY_SYNTHETIC

    cfg = make_cfg(
        *TINY_SYNTHETIC,
        "data.labels=[style,origin]",
        "logger=none",
        "trainer.max_epochs=1",
        "trainer.accelerator=cpu",
    )
    assert 0.0 <= train(cfg) <= 1.0
    ckpt = next((tmp_path / "run" / "checkpoints").glob("epoch*.ckpt"))
    module = ClassificationModule.load_from_checkpoint(ckpt, weights_only=True)
    assert list(module.tasks) == ["style", "origin"]
    assert len(module.tasks["style"]) == 10 and module.tasks["origin"] == ["AI", "human"]
    result = evaluate(make_cfg(f"ckpt_path={ckpt}", "logger=none", config_name="evaluate"))
    style, origin = result.metrics["test/style/acc"], result.metrics["test/origin/acc"]
    assert result.metrics["test/acc"] == pytest.approx((style + origin) / 2)
    assert result.confusions["origin"].shape == (2, 2)
    assert result.confusions["style"].sum() == result.metrics["test/n_images"]
    assert (result.output_dir / "per_class_report_origin.csv").is_file()
