"""Can pretrained weights be had right now? Answered in seconds, before torchvision or timm
try a download that, without a network, takes a minute or more to time out.

The cache is looked at first (torch hub under ``TORCH_HOME``, the Hugging Face cache under
``HF_HOME``); a file there means no network is needed. Otherwise ``HF_HUB_OFFLINE=1`` means
"do not try" for Hugging Face weights, and any other download is preceded by one request with
a bounded timeout to the server that would send the file.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

#: Seconds to wait for a weights server before declaring the network unreachable.
CONNECT_TIMEOUT_S = 4.0
HF_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def hf_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def probe(url: str) -> None:
    """Raise ``URLError`` unless the server of ``url`` answers within ``CONNECT_TIMEOUT_S``
    (any HTTP answer counts: the server is there)."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=CONNECT_TIMEOUT_S).close()
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise urllib.error.URLError(f"cannot reach {url}: {reason}") from err


def hub_checkpoint_path(url: str) -> Path:
    """Where ``torch.hub`` looks for (and would download) the file at ``url``."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def require_url_file(url: str) -> None:
    """The torch hub file of ``url`` is cached, or its server is reachable (else URLError)."""
    if not hub_checkpoint_path(url).is_file():
        probe(url)


def require_timm_weights(name: str) -> None:
    """The weights timm would load for ``name`` are cached, or can be fetched (else
    URLError)."""
    import timm.models

    cfg = timm.models.get_pretrained_cfg(name, allow_unregistered=True)
    if cfg is None:
        return  # timm will say there are no weights for it
    if cfg.hf_hub_id:
        from huggingface_hub import try_to_load_from_cache

        repo = cfg.hf_hub_id.split("@")[0]
        files = (cfg.hf_hub_filename,) if cfg.hf_hub_filename else HF_WEIGHT_FILES
        if any(isinstance(try_to_load_from_cache(repo, f), str) for f in files):
            return
        if hf_offline():
            raise urllib.error.URLError(f"HF_HUB_OFFLINE is set and {repo} is not in the cache")
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
        probe(f"{endpoint}/{repo}")
    elif cfg.url:
        require_url_file(cfg.url)
