"""artclf: art style, artist and origin classifiers, style transfer and explanations,
as Hydra-configured Lightning experiments tracked in MLflow."""

from artclf.runtime.threads import configure_threads

configure_threads()  # before anything imports torch: OpenMP reads its settings when it loads

from artclf.runtime.config import register_resolvers  # noqa: E402

register_resolvers()

from artclf.runtime.moved import install  # noqa: E402

install()  # module paths from before the layout (stored models import them) still import

__version__ = "0.1.0"
