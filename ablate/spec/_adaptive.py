"""Adaptive seeds: a grid study may add seeds to comparisons its declared seeds leave
undecided, up to a maximum it declares, by a group-sequential design (ablate._sequential).

The extra seeds continue from the largest declared one (max(seeds) + 1, + 2, …), so every
machine and every rerun picks the same ones; look k uses the first n_k seeds of that order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ablate._sequential import MIN_LOOK_SEEDS, SequentialDesign, look_sizes
from ablate.spec._base import Frozen

if TYPE_CHECKING:
    from ablate.spec._study import StudySpec


class AdaptiveSeedsSpec(Frozen):
    """``adaptive_seeds: {max_seeds: 10, step: 2, alpha: 0.05}``."""

    max_seeds: int = Field(ge=MIN_LOOK_SEEDS, le=1000, description="seeds per cell at most")
    step: int = Field(2, ge=1, le=1000, description="seeds added per look")
    alpha: float = Field(
        0.05, gt=0.0, lt=0.5, description="family-wise two-sided α of each comparison"
    )


class AdaptiveProblem(ValueError):
    """A bad adaptive_seeds setting, at ``loc`` (turned into SpecPathError by the caller)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def check_adaptive(spec: StudySpec) -> None:
    """What adaptive_seeds needs from the rest of the study ."""
    adaptive = spec.adaptive_seeds
    if adaptive is None:
        return
    if spec.search is not None:
        raise AdaptiveProblem(
            ("adaptive_seeds",),
            "adaptive_seeds works on grid studies only (it adds seeds to grid cells); "
            "remove 'adaptive_seeds' or the 'search' section",
        )
    if spec.baseline is None:
        raise AdaptiveProblem(
            ("adaptive_seeds",),
            "adaptive_seeds decides comparisons against the baseline, and the study has "
            "none; add e.g. 'baseline: {model.fusion: concat}'",
        )
    n0 = len(spec.seeds)
    if n0 < MIN_LOOK_SEEDS:
        raise AdaptiveProblem(
            ("seeds",),
            f"adaptive_seeds needs at least {MIN_LOOK_SEEDS} declared seeds for its first "
            f"look (the paired t-test and the † mark); list {MIN_LOOK_SEEDS - n0} more",
        )
    if adaptive.max_seeds < n0:
        raise AdaptiveProblem(
            ("adaptive_seeds", "max_seeds"),
            f"adaptive_seeds.max_seeds ({adaptive.max_seeds}) is below the {n0} declared "
            f"seeds; set it to at least {n0}",
        )
    from ablate.spec._study import SEED_LIMIT

    last = max(spec.seeds) + adaptive.max_seeds - n0
    if last >= SEED_LIMIT:
        raise AdaptiveProblem(
            ("adaptive_seeds", "max_seeds"),
            f"the extra seeds would run past {SEED_LIMIT - 1:,} (numpy's limit); "
            "declare smaller seeds",
        )


def seed_sequence(spec: StudySpec) -> list[int]:
    """The seeds in the order looks take them: the declared ones, then max(seeds) + 1, …"""
    adaptive = spec.adaptive_seeds
    seeds = list(spec.seeds)
    if adaptive is None:
        return seeds
    start = max(seeds) + 1
    return seeds + list(range(start, start + adaptive.max_seeds - len(seeds)))


def sequential_design(spec: StudySpec) -> SequentialDesign | None:
    """The study's design (None without adaptive_seeds)."""
    adaptive = spec.adaptive_seeds
    if adaptive is None:
        return None
    looks = look_sizes(len(spec.seeds), adaptive.max_seeds, adaptive.step)
    return SequentialDesign(looks, adaptive.alpha)
