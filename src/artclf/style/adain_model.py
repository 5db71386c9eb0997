"""Training the AdaIN decoder (``experiment=adain``): content and style images from two folders
(``data=unpaired``), a frozen encoder, and the losses Gatys uses here, so numbers compare.

Loss = ``content_weight`` × relative error between the decoded image's features at the AdaIN
layer and the AdaIN target + ``style_weight`` × relative error of the per-channel mean and std
at every style layer + ``tv_weight`` × total variation. Only the decoder learns.
"""

from __future__ import annotations

import lightning as L
import torch
from omegaconf import DictConfig
from torch import Tensor

from artclf.style.adain import AdaINNet, adain
from artclf.style.losses import content_loss, mean_std, moment_style_loss, tv_loss
from artclf.style.taps import BACKBONES, build_feature_taps


class AdaINModule(L.LightningModule):
    """The decoder of an :class:`AdaINNet` trained on unpaired (content, style) batches."""

    def __init__(
        self,
        backbone: str = "efficientnet_lite0",
        layer: str | None = None,
        style_layers: list[str] | None = None,
        pretrained: bool | str = True,
        decoder_width: int = 256,
        content_weight: float = 1.0,
        style_weight: float = 10.0,
        tv_weight: float = 0.0,
        lr: float = 1e-4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        spec = BACKBONES.get(backbone)
        layer = layer or (spec.content_layers[0] if spec else "")
        taps = build_feature_taps(backbone, [layer], style_layers, pretrained)
        self.net = AdaINNet(taps, layer, decoder_width)

    def state_dict(self, *args, **kwargs):
        """Only the decoder: the frozen encoder is rebuilt from its (bundled) weights."""
        state = super().state_dict(*args, **kwargs)
        return {k: v for k, v in state.items() if not k.startswith("net.taps.")}

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        taps = {f"net.taps.{k}": v for k, v in self.net.taps.state_dict().items()}
        return super().load_state_dict({**taps, **state_dict}, strict=strict, assign=assign)

    def configure_optimizers(self):
        return torch.optim.Adam(self.net.decoder.parameters(), lr=self.hparams.lr)

    def losses(self, content: Tensor, style: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Total loss and its parts for a batch of (content, style) images in [0, 1]."""
        hp, net = self.hparams, self.net
        taps = net.taps
        content, style = net.fit_size(content), net.fit_size(style)
        style_features = taps(style)
        target = adain(taps(content)[net.layer], *mean_std(style_features[net.layer]))
        output = net.decoder(target)
        features = taps(output)
        moments = {k: mean_std(style_features[k]) for k in taps.style_layers}
        parts = {
            "content": content_loss(features, {net.layer: target}, [net.layer]),
            "style": moment_style_loss(features, moments, taps.style_layers),
            "tv": tv_loss(output),
        }
        total = (
            hp.content_weight * parts["content"]
            + hp.style_weight * parts["style"]
            + hp.tv_weight * parts["tv"]
        )
        return total, {**parts, "loss": total, "output": output.detach()}

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        content, style = (x.add(1).div(2) for x in batch)  # unpaired data is in [-1, 1]
        total, parts = self.losses(content, style)
        logged = {f"train/{k}": v.detach() for k, v in parts.items() if k != "output"}
        self.log_dict(logged, on_step=True, on_epoch=True, batch_size=len(content))
        return total

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> tuple[Tensor, ...]:
        """The held-out losses; returns the columns of the sample grid (``SampleGrid``):
        content | style | stylised, in [0, 1]."""
        content, style = (x.add(1).div(2) for x in batch)
        _, parts = self.losses(content, style)
        for key in ("loss", "content", "style"):
            self.log(f"val/{key}", parts[key], prog_bar=key == "loss", batch_size=len(content))
        return self.net.fit_size(content), self.net.fit_size(style), parts["output"]


def build_adain(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The module from ``cfg.adain`` and content/style folders from ``cfg.data``."""
    from omegaconf import OmegaConf

    from artclf.data.unpaired import UnpairedDataModule

    data = OmegaConf.to_container(cfg.data, resolve=True)
    module_args = OmegaConf.to_container(cfg.adain, resolve=True)
    module_args.pop("n_samples", None)  # the sample grid's (artclf.training.tasks.adain)
    module = AdaINModule(**module_args)
    return module, UnpairedDataModule(**data)


def load_adain(source: str) -> AdaINNet:
    """The trained :class:`AdaINNet` of a checkpoint (path or URL), a registered version
    (``models:/…``) or a run's artifact (``runs:/…``)."""
    from artclf.style.trained import read_trained

    state = read_trained(source, "decoder_width", "adain", "models:/adain@champion")
    module = AdaINModule(**state["hyper_parameters"])
    module.load_state_dict(state["state_dict"])
    return module.net.eval()
