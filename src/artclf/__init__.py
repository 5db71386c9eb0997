"""artclf: art style, artist and origin classifiers, style transfer and explanations,
as Hydra-configured Lightning experiments tracked in MLflow."""

from artclf.threads import configure_threads

configure_threads()  # before anything imports torch: OpenMP reads its settings when it loads

from artclf.config import register_resolvers  # noqa: E402

register_resolvers()

__version__ = "0.1.0"
