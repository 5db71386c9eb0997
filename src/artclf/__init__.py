"""artclf: art style, artist and origin classifiers, style transfer and explanations,
as Hydra-configured Lightning experiments tracked in MLflow."""

from artclf.config import register_resolvers

register_resolvers()

__version__ = "0.1.0"
