"""The † of a study with adaptive seeds rests on its sequential design, not on a fixed-n
t-test over however many seeds it ended with."""

from __future__ import annotations

import pytest

from ablate.report._adaptive import design_note, sequential_tests
from ablate.report._stats import holm, paired
from ablate.spec import cell_key, grid_cells, parse_study

SPEC = parse_study(
    "name: ad\ngrid:\n  model.fusion: [concat, sum]\nseeds: [0, 1, 2]\n"
    "baseline: {model.fusion: concat}\nadaptive_seeds: {max_seeds: 7, step: 2}\n"
)
CELLS = tuple(grid_cells(SPEC))


def _values(diffs: list[float]) -> dict[str, dict[int, float]]:
    seeds = [0, 1, 2, 3, 4, 5, 6][: len(diffs)]
    return {
        cell_key(CELLS[0]): dict.fromkeys(seeds, 0.70),
        cell_key(CELLS[1]): {s: 0.70 + d for s, d in zip(seeds, diffs, strict=True)},
    }


def test_a_fixed_n_p_below_005_is_no_mark_unless_a_look_crossed_its_boundary() -> None:
    diffs = [0.010, -0.004, 0.012, 0.009, 0.001, 0.011, 0.004]  # fixed n=7: p ≈ 0.03
    values = _values(diffs)
    fixed = paired(values[cell_key(CELLS[1])], values[cell_key(CELLS[0])])
    assert fixed.p_t < 0.05 and holm([fixed])[0].significant  # what the old rule said
    (_, seq) = holm(sequential_tests(SPEC, CELLS, values))
    assert seq.p_t == pytest.approx(3 * fixed.p_t) and not seq.significant


def test_crossing_at_an_early_look_is_significant_whatever_the_later_seeds_say() -> None:
    diffs = [0.050, 0.052, 0.048, -0.03, 0.04]  # decided at look 1 (p ≈ 5e-4 < 0.05/3)
    (_, seq) = holm(sequential_tests(SPEC, CELLS, _values(diffs)))
    assert seq.significant and seq.n == 5


def test_the_footnote_states_the_design() -> None:
    assert design_note(SPEC).startswith(
        "Adaptive seeds (a group-sequential design): looks at 3, 5, 7 paired seeds; the "
        "paired t-test at each look against α/K = 0.05/3 = 0.0167 (Bonferroni split over "
        "the 3 looks)."
    )
