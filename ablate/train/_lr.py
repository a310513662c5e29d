"""Learning-rate schedule as a pure function of the step (nanoGPT style)."""

from __future__ import annotations

import math


def cosine_lr(
    step: int, *, base_lr: float, total_steps: int, warmup_steps: int, min_lr_ratio: float
) -> float:
    """Linear warm-up, then cosine decay from ``base_lr`` to ``base_lr * min_lr_ratio``."""
    min_lr = base_lr * min_lr_ratio
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + 0.5 * (base_lr - min_lr) * (1.0 + math.cos(math.pi * progress))
