"""The one device policy of every command: CUDA where there is CUDA, else the CPU.

Training (``trainer.accelerator=auto``, ``trainer.precision=${device_precision:}``), predict,
evaluate, the app, explain and stylize all ask here. Inference on CUDA runs in bf16 autocast
with channels_last (as training does); optimisations of an image (Gatys) and attributions
(captum) run in float32 on the same device, since their gradients are the result. On the CPU
everything is float32, so ``evaluate`` reproduces the test figures of a CPU training exactly.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache

import torch


@dataclass(frozen=True)
class DevicePolicy:
    device: torch.device

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def precision(self) -> str:
        """Lightning's ``precision`` for training on this device."""
        return "bf16-mixed" if self.on_cuda else "32-true"

    @property
    def layout(self) -> torch.memory_format:
        """The memory format of image batches and networks for inference."""
        return torch.channels_last if self.on_cuda else torch.contiguous_format

    def inference_autocast(self) -> AbstractContextManager:
        """bf16 autocast for forward passes on CUDA; a no-op on the CPU."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.on_cuda)


def device_policy() -> DevicePolicy:
    """The policy for this process: the first CUDA device when there is one, else the CPU."""
    return DevicePolicy(torch.device("cuda" if torch.cuda.is_available() else "cpu"))


@cache
def native_bf16(device_type: str) -> bool:
    """Whether a ``device_type`` device computes bf16 convolutions in hardware (CUDA with bf16;
    a CPU with AVX512-BF16 or AMX): only there does bf16 autocast speed them up, elsewhere it
    is emulated and slower than float32."""
    if device_type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device_type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def synchronize(device: torch.device) -> None:
    """Wait for ``device``'s queued work, so a wall-clock time measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
