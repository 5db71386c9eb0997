"""CycleGAN (Zhu et al. 2017) for unpaired photo <-> painting translation, one job per module:
``networks`` (generator, discriminator), ``pool`` (past fakes), ``features`` (FID/KID
features), ``module`` (the Lightning module), ``build`` (from a training config), ``loader``
(a trained generator from a checkpoint or the registry) and ``pyfunc`` (the MLflow Model a
training run logs and registers)."""

from artclf.models.cyclegan.build import build_cyclegan
from artclf.models.cyclegan.features import Lite0Features
from artclf.models.cyclegan.loader import load_cyclegan, load_generator
from artclf.models.cyclegan.module import CycleGAN
from artclf.models.cyclegan.networks import PatchDiscriminator, ResnetBlock, ResnetGenerator
from artclf.models.cyclegan.pool import ImagePool

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
