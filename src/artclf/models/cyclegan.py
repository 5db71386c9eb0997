"""CycleGAN (Zhu et al. 2017) for unpaired photo <-> painting translation, manual optimisation.

ResNet generators, 70×70 PatchGAN discriminators, least-squares GAN loss, cycle and identity
L1 losses, a pool of past fakes for the discriminators, and a learning rate that stays flat
and then decays linearly to zero. ``upsample="resize"`` replaces transposed convolutions by
nearest-neighbour upsampling + convolution, which avoids checkerboard artefacts.

FID/KID on the held-out set use EfficientNet-Lite0 features (the offline weights, DESIGN §12)
instead of Inception, whose weights cannot be downloaded here: the numbers rank runs of this
project but are not comparable to published Inception-FID values.
"""

from __future__ import annotations

import itertools
import logging
import random
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import Tensor, nn

from artclf.models.sample_grid import log_sample_grid

log = logging.getLogger(__name__)


class ResnetBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def _up(in_ch: int, out_ch: int, mode: str) -> list[nn.Module]:
    if mode == "deconv":
        conv: list[nn.Module] = [nn.ConvTranspose2d(in_ch, out_ch, 3, 2, 1, output_padding=1)]
    elif mode == "resize":
        conv = [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1),
            nn.Conv2d(in_ch, out_ch, 3),
        ]
    else:
        raise ValueError(f"unknown upsample {mode!r}; choose deconv or resize")
    return [*conv, nn.InstanceNorm2d(out_ch), nn.ReLU(True)]


class ResnetGenerator(nn.Module):
    """c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings,
    c7s1-3 with tanh: images in [-1, 1] to images in [-1, 1]."""

    def __init__(self, ngf: int = 64, n_blocks: int = 9, upsample: str = "deconv") -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(3, ngf, 7),
            nn.InstanceNorm2d(ngf),
            nn.ReLU(True),
        ]
        for mult in (1, 2):
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1),
                nn.InstanceNorm2d(ngf * mult * 2),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            layers += _up(ngf * mult, ngf * mult // 2, upsample)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """70×70 PatchGAN: C64-C128-C256-C512 (4×4 convs), one real/fake score per patch."""

    def __init__(self, ndf: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for i, stride in ((1, 2), (2, 2), (3, 1)):
            in_ch, out_ch = ndf * 2 ** (i - 1), ndf * 2**i
            layers += [
                nn.Conv2d(in_ch, out_ch, 4, stride, 1),
                nn.InstanceNorm2d(out_ch),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * 8, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ImagePool:
    """Past generated images: the discriminator sees a mix of old and new fakes, which damps
    oscillation between generator and discriminator (Shrivastava et al. 2017)."""

    def __init__(self, size: int = 50) -> None:
        self.size = size
        self.images: list[Tensor] = []

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() < 0.5:
                index = random.randrange(self.size)
                out.append(self.images[index])
                self.images[index] = image
            else:
                out.append(image)
        return torch.stack(out)


class Lite0Features(nn.Module):
    """Frozen EfficientNet-Lite0 pooled features (1280-d) of images in [0, 1], for FID/KID."""

    num_features = 1280

    def __init__(self) -> None:
        super().__init__()
        from artclf.pretrained import LITE0_MEAN, LITE0_STD, load_efficientnet_lite0

        self.model = load_efficientnet_lite0(num_classes=0).eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(LITE0_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(LITE0_STD).view(1, 3, 1, 1))

    def train(self, mode: bool = True) -> Lite0Features:
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        x = F.interpolate(images.float(), size=(224, 224), mode="bilinear", antialias=True)
        return self.model((x - self.mean) / self.std)


def _lsgan(prediction: Tensor, real: bool) -> Tensor:
    return F.mse_loss(prediction, torch.full_like(prediction, 1.0 if real else 0.0))


class CycleGAN(L.LightningModule):
    """Two generators (A→B, B→A) and two discriminators, trained alternately by hand."""

    def __init__(
        self,
        ngf: int = 64,
        ndf: int = 64,
        n_res_blocks: int = 9,
        upsample: str = "deconv",
        lambda_cycle: float = 10.0,
        lambda_identity: float = 0.5,
        pool_size: int = 50,
        lr: float = 2e-4,
        beta1: float = 0.5,
        max_epochs: int = 200,
        decay_start_epoch: int = 100,
        fid: bool = True,
        fid_min_images: int = 10,
        kid_subset_size: int = 50,
        n_samples: int = 4,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.automatic_optimization = False
        self.g_ab = ResnetGenerator(ngf, n_res_blocks, upsample)
        self.g_ba = ResnetGenerator(ngf, n_res_blocks, upsample)
        self.d_a = PatchDiscriminator(ndf)
        self.d_b = PatchDiscriminator(ndf)
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        # A plain dict, not a submodule: the metric's feature net stays out of checkpoints.
        self._quality: dict[str, Any] = {}
        self._samples: list[Tensor] = []
        self._n_eval = 0
        self._fid_skip_told = False
        self.mlflow_run_id: str | None = None  # set by train; lets an apply run link back

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["mlflow_run_id"] = self.mlflow_run_id

    def forward(self, images: Tensor) -> Tensor:
        """Translate A → B (photo → painting), images in [-1, 1]."""
        return self.g_ab(images)

    def _decay(self, epoch: int) -> float:
        hp = self.hparams
        span = max(1, hp.max_epochs - hp.decay_start_epoch)
        return 1.0 - max(0, epoch + 1 - hp.decay_start_epoch) / (span + 1)

    def configure_optimizers(self):
        hp = self.hparams
        betas = (hp.beta1, 0.999)
        opt_g = torch.optim.Adam(
            itertools.chain(self.g_ab.parameters(), self.g_ba.parameters()), lr=hp.lr, betas=betas
        )
        opt_d = torch.optim.Adam(
            itertools.chain(self.d_a.parameters(), self.d_b.parameters()), lr=hp.lr, betas=betas
        )
        schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, self._decay) for opt in (opt_g, opt_d)]
        return [opt_g, opt_d], schedulers

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        hp = self.hparams
        opt_g, opt_d = self.optimizers()

        self.d_a.requires_grad_(False)
        self.d_b.requires_grad_(False)
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        gan = _lsgan(self.d_b(fake_b), True) + _lsgan(self.d_a(fake_a), True)
        cycle = F.l1_loss(self.g_ba(fake_b), real_a) + F.l1_loss(self.g_ab(fake_a), real_b)
        identity = torch.zeros((), device=self.device)
        if hp.lambda_identity > 0:
            identity = F.l1_loss(self.g_ab(real_b), real_b) + F.l1_loss(self.g_ba(real_a), real_a)
        loss_g = gan + hp.lambda_cycle * cycle + hp.lambda_cycle * hp.lambda_identity * identity
        opt_g.zero_grad()
        self.manual_backward(loss_g)
        opt_g.step()

        self.d_a.requires_grad_(True)
        self.d_b.requires_grad_(True)
        pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        loss_d_b = 0.5 * (_lsgan(self.d_b(real_b), True) + _lsgan(self.d_b(pooled_b), False))
        loss_d_a = 0.5 * (_lsgan(self.d_a(real_a), True) + _lsgan(self.d_a(pooled_a), False))
        opt_d.zero_grad()
        self.manual_backward(loss_d_a + loss_d_b)
        opt_d.step()

        losses = {
            "g": loss_g,
            "g_gan": gan,
            "cycle": cycle,
            "identity": identity,
            "d_a": loss_d_a,
            "d_b": loss_d_b,
        }
        self.log_dict(
            {f"train/{k}": v.detach() for k, v in losses.items()},
            prog_bar=False,
            on_step=True,
            on_epoch=True,
        )

    def on_train_epoch_end(self) -> None:
        for scheduler in self.lr_schedulers():
            scheduler.step()

    def _metrics(self) -> dict[str, Any]:
        """FID and KID over Lite0 features, built on first use and moved with the module."""
        if not self._quality:
            from torchmetrics.image.fid import FrechetInceptionDistance
            from torchmetrics.image.kid import KernelInceptionDistance

            features = Lite0Features()
            self._quality = {
                "fid": FrechetInceptionDistance(feature=features, normalize=True),
                "kid": KernelInceptionDistance(
                    feature=features, normalize=True, subset_size=self.hparams.kid_subset_size
                ),
            }
        for metric in self._quality.values():
            metric.to(self.device)
        return self._quality

    def on_validation_epoch_start(self) -> None:
        self._samples = []
        self._n_eval = 0
        if self.hparams.fid:
            for metric in self._metrics().values():
                metric.reset()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        real_a, real_b = batch
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        rec_a, rec_b = self.g_ba(fake_b), self.g_ab(fake_a)
        cycle = F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)
        self.log("val/cycle_loss", cycle, on_epoch=True, prog_bar=True, batch_size=len(real_a))
        if sum(len(s) for s in self._samples) < self.hparams.n_samples:
            self._samples.append(
                torch.stack([real_a, fake_b, rec_a, real_b, fake_a, rec_b], 1).cpu()
            )
        if self.hparams.fid:
            self._n_eval += len(real_a)
            for metric in self._quality.values():
                metric.update((real_b + 1) / 2, real=True)
                metric.update((fake_b + 1) / 2, real=False)

    def on_validation_epoch_end(self) -> None:
        self._log_samples()
        if not self.hparams.fid or self.trainer.sanity_checking:
            return
        if self._n_eval < self.hparams.fid_min_images:
            if not self._fid_skip_told:
                log.info(
                    "FID/KID skipped: %d held-out images, need %d (raise data.val_fraction)",
                    self._n_eval,
                    self.hparams.fid_min_images,
                )
                self._fid_skip_told = True
            return
        kid = self._quality["kid"]
        kid.subset_size = min(self.hparams.kid_subset_size, self._n_eval)
        kid_mean, _ = kid.compute()
        self.log("val/fid", self._quality["fid"].compute())
        self.log("val/kid", kid_mean)

    def _log_samples(self) -> None:
        """Rows of real A | fake B | rec A | real B | fake A | rec B, saved and sent to MLflow."""
        if not self._samples or self.trainer.sanity_checking:
            return
        rows = torch.cat(self._samples)[: self.hparams.n_samples]
        log_sample_grid(self, rows.flatten(0, 1).add(1).div(2), nrow=6)


def build_cyclegan(cfg: DictConfig) -> tuple[L.LightningModule, L.LightningDataModule]:
    """The module from ``cfg.cyclegan`` and the datamodule from ``cfg.data`` (``data=unpaired``)."""
    from omegaconf import OmegaConf

    from artclf.data.unpaired import UnpairedDataModule

    data = OmegaConf.to_container(cfg.data, resolve=True)
    module_args = OmegaConf.to_container(cfg.cyclegan, resolve=True)
    datamodule = UnpairedDataModule(**data)
    module = CycleGAN(**module_args, max_epochs=int(cfg.trainer.max_epochs))
    return module, datamodule


def load_generator(ckpt_path: str, direction: str = "a2b") -> nn.Module:
    """The A→B (``a2b``) or B→A (``b2a``) generator of a trained checkpoint, in eval mode."""
    from artclf.style.errors import StyleTransferError

    if direction not in ("a2b", "b2a"):
        raise StyleTransferError(f"unknown direction {direction!r}; choose a2b or b2a")
    from artclf.checkpoints import checkpoint_errors, fetch, is_url

    if not is_url(ckpt_path) and not Path(ckpt_path).is_file():
        raise StyleTransferError(
            f"checkpoint {ckpt_path!r} does not exist; pass ckpt_path=.../checkpoints/last.ckpt "
            "of an `artclf.train experiment=cyclegan_monet` run"
        )
    with checkpoint_errors(ckpt_path):
        module = CycleGAN.load_from_checkpoint(
            fetch(ckpt_path), map_location="cpu", weights_only=True
        )
    return (module.g_ab if direction == "a2b" else module.g_ba).eval()
