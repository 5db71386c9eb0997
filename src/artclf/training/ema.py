"""An exponential moving average of the weights (``model.ema_decay``), through Lightning's
``EMAWeightAveraging``: validation, the saved checkpoints and testing see the average, which
is smoother than the last step's weights when a few hundred noisy steps are all there is."""

from __future__ import annotations

from collections.abc import Mapping

from lightning.pytorch.callbacks import Callback


def ema_callbacks(model_cfg: Mapping) -> list[Callback]:
    """``[EMAWeightAveraging]`` when ``model.ema_decay`` is set, else ``[]``."""
    decay = model_cfg.get("ema_decay")
    if decay is None:
        return []
    if not 0 < float(decay) < 1:
        raise ValueError(f"model.ema_decay={decay}; must be in (0, 1), e.g. 0.98, or null")
    from lightning.pytorch.callbacks import EMAWeightAveraging

    return [EMAWeightAveraging(decay=float(decay))]
