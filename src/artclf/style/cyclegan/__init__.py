"""CycleGAN (Zhu et al. 2017) for unpaired photo <-> painting translation, one job per module:
``networks`` (generator, discriminator), ``pool`` (past fakes), ``features`` (FID/KID
features), ``module`` (the Lightning module), ``build`` (from a training config), ``loader``
(a trained generator from a checkpoint or the registry) and ``pyfunc`` (the MLflow Model a
training run logs and registers)."""

from artclf.style.cyclegan.build import build_cyclegan
from artclf.style.cyclegan.features import Lite0Features
from artclf.style.cyclegan.loader import load_cyclegan, load_generator
from artclf.style.cyclegan.module import CycleGAN
from artclf.style.cyclegan.networks import PatchDiscriminator, ResnetBlock, ResnetGenerator
from artclf.style.cyclegan.pool import ImagePool

__all__ = [
    "CycleGAN",
    "ImagePool",
    "Lite0Features",
    "PatchDiscriminator",
    "ResnetBlock",
    "ResnetGenerator",
    "build_cyclegan",
    "load_cyclegan",
    "load_generator",
]
