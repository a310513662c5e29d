"""Seed statistics and the paired comparison against the baseline.

Significance rule (documented in every table's legend): a row is marked † when the two-sided
paired t-test over the seeds it shares with the baseline gives p < 0.05 after Holm correction
across the rows of that metric column, and it has at least 3 paired seeds. The family of the
correction is the rows that can be marked (≥ 3 paired seeds and a defined test).

The exact two-sided Wilcoxon signed-rank p is shown beside it, for information: it cannot go
below 2/2**n, so with fewer than 6 paired seeds it can never reach 0.05, and the table says so.

A test that is undefined is reported as undefined, never as a number: with identical paired
differences (zero variance, e.g. two seeds both 1.0 points better) the t statistic has no
finite value; with every difference zero the Wilcoxon test has nothing to rank.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace

import numpy as np

ALPHA = 0.05
MIN_PAIRS = 3  # fewest paired seeds for the † mark
MIN_WILCOXON_PAIRS = 6  # smallest n with 2 / 2**n < 0.05
MARK = "†"
_SAME = 1e-12  # paired differences closer than this (in fractions) count as identical


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
    """Row minus baseline over the shared seeds.

    ``t_undefined`` / ``wilcoxon_undefined`` say why a test has no p-value although the row
    has two or more paired seeds; ``p_holm`` is set by ``holm`` for rows that can be marked.
    """

    n: int
    delta: float | None  # mean paired difference
    p_t: float | None
    p_wilcoxon: float | None
    p_holm: float | None = None
    t_undefined: str = ""
    wilcoxon_undefined: str = ""
    sd: float | None = None  # sample std (ddof=1) of the paired differences; None below 2
    alpha: float = ALPHA  # the level of the † (a study with adaptive seeds sets its own)

    @property
    def too_few(self) -> bool:
        """Compared, but with fewer paired seeds than the mark needs."""
        return 0 < self.n < MIN_PAIRS

    @property
    def markable(self) -> bool:
        return self.n >= MIN_PAIRS and self.p_t is not None

    @property
    def significant(self) -> bool:
        return self.markable and self.p_holm is not None and self.p_holm < self.alpha


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
    if np.ptp(diff) <= _SAME:
        t_why = "identical paired differences (zero variance)"
        if np.all(np.abs(diff) <= _SAME):
            return Paired(len(seeds), delta, None, None, t_undefined=t_why, sd=0.0,
                          wilcoxon_undefined="every paired difference is zero")  # fmt: skip
        return Paired(len(seeds), delta, None, _wilcoxon(x, y), t_undefined=t_why, sd=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ties: the exact p-value says enough
        p_t = _finite(stats.ttest_rel(x, y).pvalue)
    return Paired(len(seeds), delta, p_t, _wilcoxon(x, y), sd=float(diff.std(ddof=1)))


def _wilcoxon(x: np.ndarray, y: np.ndarray) -> float | None:
    from scipy import stats

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _finite(stats.wilcoxon(x, y, method="exact").pvalue)


def holm(tests: list[Paired | None]) -> list[Paired | None]:
    """The same tests with ``p_holm``: Holm's step-down adjustment of the t-test p-values of
    the markable ones (the others are returned unchanged)."""
    family = sorted((t.p_t, i) for i, t in enumerate(tests) if t is not None and t.markable)
    out = list(tests)
    running = 0.0
    for rank, (p, index) in enumerate(family):
        running = max(running, min(1.0, (len(family) - rank) * p))  # type: ignore[operator]
        out[index] = replace(tests[index], p_holm=running)  # type: ignore[arg-type]
    return out
