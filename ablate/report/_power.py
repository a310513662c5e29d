"""The seed budget of a paired comparison: what the seeds run so far can detect, and how many
seeds a chosen difference would need.

Both rest on the power of the two-sided paired t-test at ``ALPHA`` (the test behind the †
mark): with n paired seeds and a true standardized difference d_z = Δ / sd (sd: the standard
deviation of the paired differences), t = mean / (sd / √n) follows a noncentral t
distribution with n − 1 degrees of freedom and noncentrality d_z·√n. The minimum detectable
effect (MDE) is the |Δ| at which that power reaches ``POWER``; the seeds needed for a target
|Δ| are the fewest n (≥ 2) whose power reaches it, assuming the sd observed so far. Both are
undefined with fewer than 2 paired seeds (no sd) or with a zero sd.

Standardized thresholds (d_z at power 0.8, α = 0.05): n=3 → 3.26, n=5 → 1.68, n=6 → 1.43,
n=10 → 1.00, as in the power tables for the paired t-test (Cohen 1988; G*Power).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ablate.report._stats import ALPHA

POWER = 0.8
MAX_SEEDS = 1000  # a budget beyond this is shown as '>1000'
ZERO_TARGET = "a target difference of 0"


def paired_power(n: int, d_z: float, *, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired t-test with ``n`` pairs at standardized effect ``d_z``."""
    from scipy import stats

    df = n - 1
    critical = float(stats.t.ppf(1.0 - alpha / 2.0, df))
    noncentrality = abs(d_z) * math.sqrt(n)
    upper = float(stats.nct.sf(critical, df, noncentrality))
    # The lower tail is below alpha/2 and vanishes as the effect grows; scipy returns nan
    # for it at some large noncentralities, where it is 0 to every printed digit.
    lower = float(stats.nct.cdf(-critical, df, noncentrality))
    return upper + (lower if math.isfinite(lower) else 0.0)


def detectable_dz(n: int, *, power: float = POWER, alpha: float = ALPHA) -> float | None:
    """The smallest standardized |Δ| (d_z) that ``n`` pairs detect with ``power``; None
    below 2 pairs."""
    if n < 2:
        return None
    from scipy.optimize import brentq

    high = 1.0
    while paired_power(n, high, alpha=alpha) < power:
        high *= 2.0
    return float(brentq(lambda d: paired_power(n, d, alpha=alpha) - power, 0.0, high, xtol=1e-9))


def seeds_needed(
    d_z: float, *, power: float = POWER, alpha: float = ALPHA, at_least: int = 2
) -> int | None:
    """The fewest pairs (≥ ``at_least``, ≥ 2) whose power for ``d_z`` reaches ``power``;
    None when even ``MAX_SEEDS`` pairs fall short (or d_z is 0)."""
    if d_z == 0 or paired_power(MAX_SEEDS, d_z, alpha=alpha) < power:
        return None
    at_least = max(2, at_least)
    if paired_power(at_least, d_z, alpha=alpha) >= power:
        return at_least
    low, high = at_least, 2 * at_least  # power(low) < power ≤ power(high): double, bisect
    while paired_power(high, d_z, alpha=alpha) < power:
        low, high = high, min(2 * high, MAX_SEEDS)
    while high - low > 1:
        middle = (low + high) // 2
        if paired_power(middle, d_z, alpha=alpha) >= power:
            high = middle
        else:
            low = middle
    return high


@dataclass(frozen=True)
class SeedBudget:
    """One compared row's budget, in percentage points; ``undefined`` says why it has none."""

    mde_pp: float | None
    target_pp: float | None  # the difference the seed count is for
    seeds: int | None  # None with a target: more than MAX_SEEDS
    undefined: str = ""


def seed_budget(n: int, sd_pp: float | None, delta_pp: float | None, *,
                target_pp: float | None = None, at_least: int = 2) -> SeedBudget:  # fmt: skip
    """The budget of a row with ``n`` paired seeds whose paired differences have mean
    ``delta_pp`` and sample sd ``sd_pp``; the seed count (≥ ``at_least``) is for
    ``target_pp`` (default: the observed |Δ|)."""
    target = abs(target_pp if target_pp is not None else (delta_pp or 0.0))
    if n < 2 or sd_pp is None:
        return SeedBudget(None, target, None, undefined="fewer than 2 paired seeds")
    if sd_pp <= 0.0:
        return SeedBudget(None, target, None, undefined="zero spread of paired differences")
    d_z = detectable_dz(n)
    mde = None if d_z is None else d_z * sd_pp
    if target == 0.0:
        return SeedBudget(mde, target, None, undefined=ZERO_TARGET)
    return SeedBudget(mde, target, seeds_needed(target / sd_pp, at_least=at_least))
