"""One batch, the same whichever path holds the rows: the pass's order and augmentation draws,
and the conversion of gathered uint8 tiles and visit counts into the model's float32 inputs.

Both data paths (resident and stream) go through exactly these functions on identical uint8
values, which is what makes their batches bit-identical on the CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

_BLOCK = 16  # tiles per step when augmenting and normalising (fits the CPU cache)


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator that depends only on (seed, epoch)."""
    state = np.random.SeedSequence([seed, epoch, 0x5EED]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def visit_transform(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
    # Each gets a fresh float32 batch and may work in place.
    def raw(v: torch.Tensor) -> torch.Tensor:
        return v

    def max_(v: torch.Tensor) -> torch.Tensor:
        return v.div_(v.amax(dim=(1, 2, 3), keepdim=True).clamp_min(1.0))  # counts: max >= 1 or 0

    return {"raw": raw, "log1p": torch.Tensor.log1p_, "max": max_}[name]


@dataclass(frozen=True)
class Step:
    """One batch of a pass: row positions within the split, grouped by augmentation case."""

    index: torch.Tensor  # int64 (B,), on the CPU
    case: torch.Tensor  # int64 (B,), sorted; all 0 without augmentation


def plan_pass(
    n: int, *, split: str, batch_size: int, epoch: int | None, seed: int, augment: bool
) -> Iterator[Step]:
    """The batches of one pass over a split of ``n`` rows.

    "train" is shuffled and augmented from (seed, epoch) only; a last batch of a single
    sample is dropped (BatchNorm cannot train on it). "val"/"test" keep their order."""
    generator = None
    if split == "train":
        if epoch is None:
            raise ValueError("the 'train' split needs an epoch number")
        generator = epoch_generator(seed, epoch)
        order = torch.randperm(n, generator=generator)
    else:
        order = torch.arange(n)
    for start in range(0, n, batch_size):
        index = order[start : start + batch_size]
        if generator is not None and len(index) == 1 and n > 1:
            return
        if generator is None or not augment:
            yield Step(index, torch.zeros(len(index), dtype=torch.int64))
            continue
        flips = torch.randint(0, 2, (3, len(index)), generator=generator)
        turns = torch.randint(0, 4, (len(index),), generator=generator)
        # Group the batch by augmentation case so each case is one contiguous slice:
        # one gather, then one strided copy per case (2x faster than scattering).
        case = _augment_case(flips, turns)
        order_in_batch = torch.argsort(case, stable=True)
        yield Step(index[order_in_batch], case[order_in_batch])


class Converter:
    """Gathered uint8 tiles (B,3,100,100, any strides) and visit counts → float32 inputs,
    normalised by the train rows' channel mean and std (0–1 scale)."""

    def __init__(self, *, mean, std, image_size: int, transform: str, device) -> None:
        scale = 1.0 / (255.0 * np.asarray(std))
        shift = np.asarray(mean) / np.asarray(std)
        self._scale = torch.as_tensor(scale, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._shift = torch.as_tensor(shift, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.size = image_size  # the side the model sees
        self._transform = visit_transform(transform)

    def images(
        self, tiles: torch.Tensor, case: torch.Tensor, *, out: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``case``: the step's (CPU) cases; ``out``: a float32 buffer of at least the batch's
        rows at full size to write into (else a fresh one)."""
        if out is None:
            images = torch.empty(tiles.shape, dtype=torch.float32, device=tiles.device)
        else:
            images = out[: len(tiles)]
        if self.size == tiles.shape[-1]:
            _augment_normalise(tiles, case, images, self._scale, self._shift)
            return images
        _augment_normalise(tiles, case, images, None, None)  # at full size, then resize
        images = F.interpolate(
            images, size=(self.size, self.size), mode="bilinear", antialias=True
        )
        return images.mul_(self._scale).sub_(self._shift)

    def visits(self, counts: torch.Tensor) -> torch.Tensor:
        """The study's visit transform, in place, on a private float32 batch of counts."""
        return self._transform(counts)


def _augment_case(flips: torch.Tensor, turns: torch.Tensor) -> torch.Tensor:
    """Per-sample horizontal flip, then vertical flip, then 90° turns, as one of 8 cases.

    A vertical flip is a horizontal one turned by 180°, so the draws reduce to
    (mirror or not) × 4 turns: case = 4 · mirror + turns.
    """
    mirror = flips[0] ^ flips[1]
    return mirror * 4 + (turns + 2 * flips[1]) % 4


def _augment_normalise(
    images: torch.Tensor,
    case: torch.Tensor,
    out: torch.Tensor,
    scale: torch.Tensor | None,
    shift: torch.Tensor | None,
) -> None:
    """Write each uint8 square tile, turned by its case, into float32 ``out`` as ``x·scale −
    shift``; ``case`` must be sorted.

    The work goes in blocks of ``_BLOCK`` tiles so that the normalising passes find the
    converted pixels still in the CPU cache (~30 % faster than whole-batch passes, same
    numbers). A GPU has no use for them and gets one block per case.
    """
    step = _BLOCK if images.device.type == "cpu" else max(1, len(images))
    start = 0
    for c, count in enumerate(torch.bincount(case, minlength=8).tolist()):
        for first in range(start, start + count, step):
            last = min(first + step, start + count)
            part = images[first:last]
            part = part.flip(-1) if c >= 4 else part
            part = torch.rot90(part, c % 4, dims=(-2, -1)) if c % 4 else part
            block = out[first:last]
            block.copy_(part)
            if scale is not None:
                block.mul_(scale).sub_(shift)
        start += count
