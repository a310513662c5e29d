"""Seed statistics and the paired comparison against the baseline.

Significance rule (documented in every table's legend): a row is marked † only when the paired
t-test AND the exact two-sided Wilcoxon signed-rank test, over the seeds the row shares with
the baseline, both give p < 0.05. The exact Wilcoxon test cannot go below 2/2**n, so with fewer
than 6 paired seeds it can never reach 0.05: such rows carry no mark, and the table says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

ALPHA = 0.05
MIN_WILCOXON_PAIRS = 6  # smallest n with 2 / 2**n < 0.05
MARK = "†"


@dataclass(frozen=True)
class Spread:
    mean: float | None
    std: float | None  # sample std (ddof=1); None below two seeds
    n: int


def spread(values: list[float]) -> Spread:
    if not values:
        return Spread(None, None, 0)
    array = np.asarray(values, dtype=float)
    std = float(array.std(ddof=1)) if len(array) > 1 else None
    return Spread(float(array.mean()), std, len(array))


@dataclass(frozen=True)
class Paired:
    """Row minus baseline over the shared seeds."""

    n: int
    delta: float | None  # mean paired difference
    p_t: float | None
    p_wilcoxon: float | None

    @property
    def too_few(self) -> bool:
        return 0 < self.n < MIN_WILCOXON_PAIRS

    @property
    def significant(self) -> bool:
        if self.n < MIN_WILCOXON_PAIRS or self.p_t is None or self.p_wilcoxon is None:
            return False
        return self.p_t < ALPHA and self.p_wilcoxon < ALPHA


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def paired(row: dict[int, float], baseline: dict[int, float]) -> Paired:
    """Paired t-test and exact Wilcoxon signed-rank test over the seeds in both dicts."""
    from scipy import stats  # ~0.3 s to import: only when a comparison is made

    seeds = sorted(set(row) & set(baseline))
    if not seeds:
        return Paired(0, None, None, None)
    x = np.array([row[s] for s in seeds])
    y = np.array([baseline[s] for s in seeds])
    diff = x - y
    delta = float(diff.mean())
    if len(seeds) < 2:
        return Paired(len(seeds), delta, None, None)
    if np.allclose(diff, 0.0, atol=1e-12):
        return Paired(len(seeds), delta, 1.0, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant differences, ties: the p-value says enough
        p_t = _finite(stats.ttest_rel(x, y).pvalue)
        p_w = _finite(stats.wilcoxon(x, y, method="exact").pvalue)
    return Paired(len(seeds), delta, p_t, p_w)
