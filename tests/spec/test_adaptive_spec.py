"""adaptive_seeds in a study file: its shape, what it needs from the study, its seeds."""

from __future__ import annotations

import pytest

from ablate.errors import SpecError
from ablate.spec import parse_study, reachable_trials, seed_sequence, sequential_design

GRID = "name: a\ngrid:\n  model.fusion: [concat, sum]\n"
BASE = "baseline: {model.fusion: concat}\n"


def _parse(text: str):
    return parse_study(text, where="s.yaml")


def test_the_looks_and_the_extra_seeds_follow_the_declared_ones() -> None:
    spec = _parse(GRID + "seeds: [4, 0, 2]\n" + BASE + "adaptive_seeds: {max_seeds: 8}\n")
    assert seed_sequence(spec) == [4, 0, 2, 5, 6, 7, 8, 9]
    design = sequential_design(spec)
    assert design.looks == (3, 5, 7, 8) and design.level == pytest.approx(0.05 / 4)
    assert len(reachable_trials(spec)) == 2 * 8
    no_adaptive = _parse(GRID + "seeds: [0, 1, 2]\n" + BASE)
    assert sequential_design(no_adaptive) is None and seed_sequence(no_adaptive) == [0, 1, 2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GRID + "seeds: [0, 1, 2]\nadaptive_seeds: {max_seeds: 6}\n",
            "adaptive_seeds decides comparisons against the baseline, and the study has none; "
            "add e.g. 'baseline: {model.fusion: concat}' (at adaptive_seeds in s.yaml:5).",
        ),
        (
            GRID + "seeds: [0, 1, 2, 3]\n" + BASE + "adaptive_seeds: {max_seeds: 3}\n",
            "adaptive_seeds.max_seeds (3) is below the 4 declared seeds; set it to at least 4 "
            "(at adaptive_seeds.max_seeds in s.yaml:6).",
        ),
        (
            GRID + "seeds: [0, 1]\n" + BASE + "adaptive_seeds: {max_seeds: 6}\n",
            "adaptive_seeds needs at least 3 declared seeds for its first look (the paired "
            "t-test and the † mark); list 1 more (at seeds in s.yaml:4).",
        ),
        (
            GRID + "search:\n  n_trials: 3\n  params:\n    loss.distillation: {low: 0, high: 1}\n"
            "seeds: [0, 1, 2]\n" + BASE + "adaptive_seeds: {max_seeds: 6}\n",
            "adaptive_seeds works on grid studies only (it adds seeds to grid cells); remove "
            "'adaptive_seeds' or the 'search' section (at adaptive_seeds in s.yaml:10).",
        ),
        (
            GRID + "seeds: [0, 1, 4294967294]\n" + BASE + "adaptive_seeds: {max_seeds: 6}\n",
            "the extra seeds would run past 4,294,967,295 (numpy's limit); declare smaller "
            "seeds (at adaptive_seeds.max_seeds in s.yaml:6).",
        ),
        (
            GRID + "seeds: [0, 1, 2]\n" + BASE + "adaptive_seeds: {max_seeds: 6, stepp: 2}\n",
            "Unknown key 'stepp' at adaptive_seeds in s.yaml:6; did you mean 'step'?",
        ),
        (
            GRID + "seeds: [0, 1, 2]\n" + BASE + "adaptive_seeds: {max_seeds: 6, alpha: 0.7}\n",
            "Bad value at adaptive_seeds.alpha in s.yaml:6: Input should be less than 0.5 "
            "(got 0.7).",
        ),
    ],
    ids=[
        "no-baseline",
        "max-below-seeds",
        "too-few-seeds",
        "search",
        "seed-limit",
        "typo",
        "alpha",
    ],
)
def test_bad_adaptive_seeds_is_one_line_naming_the_field_and_the_fix(
    text: str, message: str
) -> None:
    with pytest.raises(SpecError) as caught:
        _parse(text)
    assert str(caught.value) == message
