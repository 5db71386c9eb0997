"""The CycleGAN Lightning module (Zhu et al. 2017), optimised by hand: two generators and two
discriminators, least-squares GAN loss, cycle and identity L1 losses, a pool of past fakes, a
learning rate that stays flat and then decays linearly to zero; FID/KID on the held-out
images, whose translations ``validation_step`` returns for the sample grid
(``artclf.training.report_callbacks.SampleGrid``)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor

from artclf.style.cyclegan.features import Lite0Features
from artclf.style.cyclegan.networks import PatchDiscriminator, ResnetGenerator
from artclf.style.cyclegan.pool import ImagePool

log = logging.getLogger(__name__)


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
        self._n_eval = 0
        self._fid_skip_told = False

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
        self._n_eval = 0
        if self.hparams.fid:
            for metric in self._metrics().values():
                metric.reset()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> tuple[Tensor, ...]:
        """The cycle loss and FID/KID updates; returns the columns of the sample grid: real A |
        fake B | rec A | real B | fake A | rec B, in [-1, 1]."""
        real_a, real_b = batch
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        rec_a, rec_b = self.g_ba(fake_b), self.g_ab(fake_a)
        cycle = F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)
        self.log("val/cycle_loss", cycle, on_epoch=True, prog_bar=True, batch_size=len(real_a))
        if self.hparams.fid:
            self._n_eval += len(real_a)
            for metric in self._quality.values():
                metric.update((real_b + 1) / 2, real=True)
                metric.update((fake_b + 1) / 2, real=False)
        return real_a, fake_b, rec_a, real_b, fake_a, rec_b

    def on_validation_epoch_end(self) -> None:
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
