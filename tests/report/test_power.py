"""The seed budget's statistics against values computed by hand (scipy's noncentral t) and
the power tables of the paired t-test (α = 0.05 two-sided, power 0.8)."""

from __future__ import annotations

import math

import pytest

from ablate.report._power import (
    MAX_SEEDS,
    ZERO_TARGET,
    detectable_dz,
    paired_power,
    seed_budget,
    seeds_needed,
)

# d_z at power 0.8, from scipy.stats.nct (brentq to 1e-9), and as the literature rounds them
DZ = {3: 3.2640, 5: 1.6820, 6: 1.4345, 10: 0.9960}
LITERATURE = {3: 3.27, 5: 1.69, 6: 1.44, 10: 1.00}


@pytest.mark.parametrize("n", sorted(DZ))
def test_detectable_effect_matches_the_power_tables(n: int) -> None:
    d_z = detectable_dz(n)
    assert d_z is not None
    assert math.isclose(d_z, DZ[n], abs_tol=5e-4)
    assert abs(d_z - LITERATURE[n]) < 0.01
    assert math.isclose(paired_power(n, d_z), 0.8, abs_tol=1e-6)


def test_too_few_seeds_have_no_detectable_effect() -> None:
    assert detectable_dz(1) is None and detectable_dz(0) is None
    assert math.isclose(detectable_dz(2) or 0, 11.5499, abs_tol=1e-3)  # df = 1: huge


@pytest.mark.parametrize(("d_z", "n"), [(2.0, 5), (1.0, 10), (0.5, 34), (0.2, 199)])
def test_seeds_needed_is_the_first_n_with_power_0_8(d_z: float, n: int) -> None:
    assert seeds_needed(d_z) == n
    assert paired_power(n, d_z) >= 0.8 > paired_power(n - 1, d_z)


def test_seeds_needed_bounds() -> None:
    assert seeds_needed(20.0) == 2
    assert seeds_needed(20.0, at_least=3) == 3  # the † mark needs 3
    assert seeds_needed(0.01) is None  # > MAX_SEEDS
    assert paired_power(MAX_SEEDS, 0.01) < 0.8
    assert seeds_needed(0.0) is None


def test_budget_in_percentage_points() -> None:
    # sd of the paired differences 1.0 pp over 5 seeds: MDE = 1.682 × 1.0 pp
    budget = seed_budget(5, 1.0, -0.5)
    assert math.isclose(budget.mde_pp or 0, 1.6820, abs_tol=5e-4)
    assert budget.target_pp == 0.5 and budget.seeds == 34  # observed |Δ| = 0.5 pp: d_z 0.5
    scaled = seed_budget(5, 2.0, 0.1, target_pp=2.0)  # target 2 pp at sd 2 pp: d_z 1
    assert math.isclose(scaled.mde_pp or 0, 2 * 1.6820, abs_tol=1e-3) and scaled.seeds == 10


def test_undefined_budgets_say_why() -> None:
    assert seed_budget(1, None, 0.4).undefined == "fewer than 2 paired seeds"
    zero = seed_budget(3, 0.0, 1.0)
    assert zero.mde_pp is None and zero.undefined == "zero spread of paired differences"
    flat = seed_budget(3, 0.5, 0.0)
    assert flat.mde_pp is not None and flat.seeds is None and flat.undefined == ZERO_TARGET
