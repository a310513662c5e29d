"""The group-sequential paired t-test behind adaptive seeds: one design, one decision rule,
shared by the scheduler (which adds seeds on the validation objective) and the tables (which
mark † on test metrics). Numbers in, numbers out: no spec, no database, no torch.

The design is a Bonferroni split of α over the pre-declared looks: at each of the K looks
(n = n0, n0 + step, …, max seeds) the two-sided paired t-test over the first n paired seeds
is compared with α/K. By the union bound the chance that a null comparison crosses at any of
the K looks is at most α, whatever the dependence between looks, whatever decides when to
stop (even data the test does not see, such as the validation split), and with the exact
t distribution at every n (no normal approximation at n = 3, where the t has 2 degrees of
freedom). Group-sequential boundaries (Pocock, O'Brien–Fleming, Lan–DeMets) are less
conservative but are derived for normal statistics at known information fractions; with 3 to
10 seeds that approximation is the weak point, and α/K is the choice that stays valid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

MIN_LOOK_SEEDS = 3  # the first look needs as many paired seeds as the table's † mark
_SAME = 1e-12  # paired differences closer than this count as identical (zero variance)


def paired_t_p(differences: Sequence[float]) -> float | None:
    """Two-sided p of the paired t-test of these differences (mean 0 under the null); None
    when it is undefined (fewer than 2, or zero variance)."""
    n = len(differences)
    if n < 2:
        return None
    mean = math.fsum(differences) / n
    var = math.fsum((d - mean) ** 2 for d in differences) / (n - 1)
    if max(differences) - min(differences) <= _SAME or var <= 0.0:
        return None
    from scipy.special import stdtr  # the t distribution's CDF, without scipy.stats' import

    t = mean / math.sqrt(var / n)
    return float(min(1.0, 2.0 * stdtr(n - 1, -abs(t))))


class Outcome(StrEnum):
    WAITING = "waiting"  # the first look's seeds are not all in yet
    CONTINUE = "continue"  # undecided at its last look: the next look's seeds are needed
    DECIDED = "decided"  # crossed the boundary at a look: no more seeds
    MAX_REACHED = "undecided at max"  # the last look taken and not crossed


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    look: int  # looks taken (0 while waiting)
    seeds: int  # paired seeds the comparison needs now (those of its next look while open)
    p: float | None  # the paired t p at the look that decided, or at the last look taken


@dataclass(frozen=True)
class SequentialDesign:
    """Looks at ``looks`` paired seeds (increasing); family-wise α per comparison."""

    looks: tuple[int, ...]
    alpha: float = 0.05

    @property
    def level(self) -> float:
        """The nominal p a look must go below (α/K)."""
        return self.alpha / len(self.looks)

    @property
    def max_seeds(self) -> int:
        return self.looks[-1]

    def rejects(self, p: float | None) -> bool:
        return p is not None and p < self.level

    def verdict(self, differences: Sequence[float]) -> Verdict:
        """The decision after the looks these paired differences (in seed order) reach; the
        first look whose test crosses decides, later differences are never consulted."""
        p: float | None = None
        for index, n in enumerate(self.looks):
            if len(differences) < n:
                outcome = Outcome.WAITING if index == 0 else Outcome.CONTINUE
                return Verdict(outcome, index, n, p)
            p = paired_t_p(differences[:n])
            if self.rejects(p):
                return Verdict(Outcome.DECIDED, index + 1, n, p)
        return Verdict(Outcome.MAX_REACHED, len(self.looks), self.max_seeds, p)

    def sequential_p(self, differences: Sequence[float]) -> float | None:
        """A p-value for the whole procedure: the smallest p over the looks reached, scaled
        by α / level (K) and capped at 1, so that it is below α exactly when a look crossed
        its level; it can enter a Holm correction like any p-value. None when no look
        reached has a defined test."""
        ps = [paired_t_p(differences[:n]) for n in self.looks if n <= len(differences)]
        defined = [p for p in ps if p is not None]
        return min(1.0, self.alpha / self.level * min(defined)) if defined else None

    def describe(self) -> str:
        """'looks at 3, 5, 7 paired seeds; paired t-test at α/K = 0.05/3 = 0.0167'."""
        seeds = ", ".join(str(n) for n in self.looks)
        k = len(self.looks)
        return (
            f"looks at {seeds} paired seeds; the paired t-test at each look against "
            f"α/K = {self.alpha:g}/{k} = {self.level:.3g} (Bonferroni split over the {k} "
            f"look{'s' * (k != 1)})"
        )


def look_sizes(first: int, max_seeds: int, step: int) -> tuple[int, ...]:
    """n0, n0 + step, …, and max_seeds as the last look."""
    sizes = list(range(first, max_seeds, step))
    return (*sizes, max_seeds)
