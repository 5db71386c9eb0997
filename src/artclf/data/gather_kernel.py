"""The numba CPU kernel behind ``artclf.data.resample.gather_scaled`` (imported lazily: numba
costs start-up time that commands without augmentation should not pay)."""

from __future__ import annotations

import numba
import numpy as np
import torch

# Its workers sleep between batches instead of spinning against torch's OpenMP threads.
numba.config.THREADING_LAYER = "workqueue"


@numba.njit(parallel=True, cache=True, nogil=True, fastmath=True)
def _gather_scaled_rgb(source, rows, maps, choice, scale, shift, out):  # pragma: no cover
    """Pixel-major with the three channels spelled out: each index is read once and the loop
    compiles to straight-line code (every reader delivers RGB). Each sample's map is a
    contiguous row of ``maps`` (flips are maps of their own), and uint16 maps halve the index
    bytes read per pixel. Each image is first copied
    out whole: one sequential read (which the hardware prefetches) leaves it in the core's
    cache for the scattered reads of the gather, which straight from the memory-mapped array
    miss the cache and the TLB (``make bench``'s input row measures the whole path)."""
    outside = maps.shape[1]
    a0, a1, a2 = scale[0], scale[1], scale[2]
    b0, b1, b2 = shift[0], shift[1], shift[2]
    for i in numba.prange(rows.shape[0]):
        index = maps[choice[i]]
        image = source[rows[i]].copy()
        s0, s1, s2 = image[0], image[1], image[2]
        t0, t1, t2 = out[i, 0], out[i, 1], out[i, 2]
        for p in range(outside):
            q = index[p]
            if q < outside:
                t0[p], t1[p], t2[p] = s0[q] * a0 + b0, s1[q] * a1 + b1, s2[q] * a2 + b2
            else:
                t0[p], t1[p], t2[p] = b0, b1, b2


def gather_scaled(
    source: np.ndarray,
    rows: np.ndarray,
    maps: np.ndarray,
    choice: np.ndarray,
    scale: np.ndarray,
    shift: np.ndarray,
    out: np.ndarray,
) -> None:
    """Fill ``out`` (N, 3, P) float32 from images ``source[rows]`` ((M, 3, P) uint8) through
    the maps ``maps[choice]`` ((K, P) integer), with torch's thread count."""
    if source.shape[1] != 3:
        raise ValueError(f"expected RGB images (M, 3, P), got {source.shape}")
    # The kernel does not check bounds (a check per pixel would halve its speed): one check
    # per batch keeps a short or mismatched array from being read past its end.
    if len(rows) and (rows.min() < 0 or rows.max() >= source.shape[0]):
        raise IndexError(f"rows {rows.min()}..{rows.max()} outside the {source.shape[0]} images")
    if len(choice) and (choice.min() < 0 or choice.max() >= maps.shape[0]):
        raise IndexError(f"map choice outside the {maps.shape[0]} maps")
    if maps.shape[1] != source.shape[2] or out.shape != (len(rows), 3, maps.shape[1]):
        raise ValueError(f"maps {maps.shape} / out {out.shape} do not fit images {source.shape}")
    numba.set_num_threads(min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    _gather_scaled_rgb(source, rows, maps, choice, scale, shift, out)
