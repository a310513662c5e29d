"""The resident path: a split's rows copied onto the device once, chunk by chunk.

Host memory holds one chunk at a time beyond the memory map (on a CUDA device the tiles are
turned to NCHW there), so loading a cache never needs a second copy of it. Also the exact
channel statistics of the train rows, read chunkwise from the map (both paths use them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ablate.data.cache import CachedData

CHUNK_ROWS = 1024  # rows copied per step (~30 MB of tiles)
_STATS_ROWS = 1024  # rows per step of the channel statistics (~30 MB of tiles)
_NUMPY = {torch.uint8: np.uint8, torch.int16: np.int16, torch.int32: np.int32}


@dataclass
class ResidentSplit:
    images: torch.Tensor  # uint8 (n, 3, 100, 100)
    visits: torch.Tensor  # counts (n, 7, 26, 24), the smallest signed dtype that holds them
    labels: torch.Tensor  # int64 (n,)

    def __len__(self) -> int:
        return len(self.labels)


def _visit_dtype(visits: np.ndarray, rows: np.ndarray) -> torch.dtype:
    """The smallest signed dtype that holds the rows' counts (uint16 has few torch kernels)."""
    top = 0
    for start in range(0, len(rows), CHUNK_ROWS):
        top = max(top, int(np.take(visits, rows[start : start + CHUNK_ROWS], axis=0).max()))
    return torch.uint8 if top <= 255 else torch.int16 if top <= 32767 else torch.int32


def resident_split(cache: CachedData, rows: np.ndarray, device: torch.device) -> ResidentSplit:
    n = len(rows)
    images = torch.empty((n, 3, *cache.images.shape[1:3]), dtype=torch.uint8, device=device)
    visits = torch.empty(
        (n, *cache.visits.shape[1:]), dtype=_visit_dtype(cache.visits, rows), device=device
    )
    for start in range(0, n, CHUNK_ROWS):
        part = rows[start : start + CHUNK_ROWS]
        stop = start + len(part)
        tiles = torch.from_numpy(np.take(cache.images, part, axis=0)).to(device)
        images[start:stop].copy_(tiles.permute(0, 3, 1, 2))
        counts = np.take(cache.visits, part, axis=0).astype(_NUMPY[visits.dtype])
        visits[start:stop].copy_(torch.from_numpy(counts))
    labels = torch.from_numpy(np.ascontiguousarray(np.asarray(cache.labels)[rows])).to(device)
    return ResidentSplit(images, visits, labels)


def channel_stats(images: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and std (0–1 scale) of the uint8 (N, H, W, 3) tiles at ``rows``.

    The sums are exact integers, so they do not depend on the order or the layout of the
    reads: streaming and resident trials normalise by the very same numbers."""
    # A histogram per channel (exact counts of each of the 256 values) gives the sums and the
    # sums of squares exactly, ~4x faster than summing converted pixels.
    histogram = torch.zeros((3, 256), dtype=torch.int64)
    for start in range(0, len(rows), _STATS_ROWS):
        block = torch.from_numpy(np.take(images, rows[start : start + _STATS_ROWS], axis=0))
        channels = block.reshape(-1, 3).T.contiguous()
        histogram += torch.stack([torch.bincount(c, minlength=256) for c in channels])
    values = torch.arange(256, dtype=torch.int64)
    total, squares = histogram @ values, histogram @ (values * values)
    count = max(len(rows), 1) * images.shape[1] * images.shape[2] * 255.0
    mean = total.double().numpy() / count
    std = np.sqrt(np.maximum(squares.double().numpy() / (count * 255.0) - mean**2, 1e-12))
    return mean, std
