"""The adaptive-seed procedure's error rates, by simulation through the scheduler's own code:
many simulated studies (no training) whose validation objectives are drawn at random, each
driven look by look through ``AdaptiveSeeds.extra`` on a fake ledger exactly as the planner
asks it, until no more seeds are asked for."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from ablate._sequential import Outcome, SequentialDesign
from ablate.scheduler._adaptive import AdaptiveSeeds
from ablate.scheduler._ledger import Ledger
from ablate.spec import parse_study

ALPHA = 0.05
STUDIES = 4000
CEILING = ALPHA + 3 * math.sqrt(ALPHA * (1 - ALPHA) / STUDIES)  # binomial Monte-Carlo error


def _study(step: int) -> AdaptiveSeeds:
    spec = parse_study(
        "name: sim\ngrid:\n  model.fusion: [concat, sum]\nseeds: [0, 1, 2]\n"
        "baseline: {model.fusion: concat}\n"
        f"adaptive_seeds: {{max_seeds: 10, step: {step}, alpha: {ALPHA}}}\n"
    )
    return AdaptiveSeeds(spec)


@dataclass(frozen=True)
class NaiveDesign(SequentialDesign):
    """The procedure that must not be used: the paired t-test at α at every look."""

    @property
    def level(self) -> float:
        return self.alpha


def _run(adaptive: AdaptiveSeeds, baseline: np.ndarray, cell: np.ndarray) -> tuple[bool, int]:
    """One simulated study: (the comparison was decided, seeds the cell ran). Runs become
    complete only when the planner has asked for them."""
    concat, other = adaptive.cells
    base_keys = [adaptive.run_key(concat, seed) for seed in adaptive.sequence]
    cell_keys = [adaptive.run_key(other, seed) for seed in adaptive.sequence]
    ran = adaptive.declared
    while True:
        objective = {}
        for index in range(ran):
            objective[base_keys[index]] = float(baseline[index])
            objective[cell_keys[index]] = float(cell[index])
        ledger = Ledger(complete=set(objective), objective=objective)
        extra = adaptive.extra(ledger)
        asked = adaptive.declared + len({c.seed for c in extra})
        if asked == ran:
            (comparison,) = adaptive.comparisons(ledger)
            decided = comparison.verdict.outcome == Outcome.DECIDED
            _, _, mine_key, base_key = adaptive.pairs[0]
            diffs = adaptive.differences(mine_key, base_key, objective)
            table_p = adaptive.design.sequential_p(diffs)  # the table's † rests on this p
            assert decided == (table_p is not None and table_p < adaptive.design.alpha)
            return decided, ran
        ran = asked


def _rate(adaptive: AdaptiveSeeds, draw, *, effect: float = 0.0, seed: int = 16) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(STUDIES):
        baseline = 0.70 + 0.02 * rng.standard_normal(adaptive.design.max_seeds)
        cell = baseline + 0.01 * (effect + draw(rng, adaptive.design.max_seeds))
        hits += _run(adaptive, baseline, cell)[0]
    return hits / STUDIES


def _normal(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def _heavy(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_t(3, n)  # heavier tails than the normal; variance 3


@pytest.mark.slow
@pytest.mark.parametrize("step", [1, 2])
@pytest.mark.parametrize("draw", [_normal, _heavy], ids=["normal", "student_t3"])
def test_false_positives_stay_at_or_below_alpha_under_the_null(draw, step: int) -> None:
    rate = _rate(_study(step), draw)
    assert rate <= CEILING, f"false-positive rate {rate:.4f} above {CEILING:.4f}"


@pytest.mark.slow
def test_testing_at_alpha_at_every_look_exceeds_alpha() -> None:
    """The contrast that shows the simulation can fail: the naive rule, same looks, same
    scheduler code, only its per-look level changed to α."""
    adaptive = _study(1)
    adaptive.design = NaiveDesign(adaptive.design.looks, ALPHA)
    rate = _rate(adaptive, _normal)
    assert rate > CEILING, f"naive rate {rate:.4f} not above {CEILING:.4f}"


def test_a_real_effect_is_found_most_of_the_time() -> None:
    """d_z = 1.5 (Δ = 1.5 sd of the paired differences): decided in most studies, and mostly
    before the maximum, so the extra seeds are spent where they are needed."""
    adaptive = _study(2)
    assert _rate(adaptive, _normal, effect=1.5) > 0.8
    rng = np.random.default_rng(3)
    seeds = []
    for _ in range(200):
        baseline = 0.70 + 0.02 * rng.standard_normal(10)
        seeds.append(
            _run(adaptive, baseline, baseline + 0.01 * (3.0 + rng.standard_normal(10)))[1]
        )
    assert np.mean(seeds) < 7  # d_z = 3: mostly decided at the first looks
