"""The † of a study with adaptive seeds: the sequential design its seeds were added by,
applied to the table's own metric (test by default).

A comparison's p is the design's sequential p (K × its smallest paired t p over the looks
its paired seeds reach, in look order): below α exactly when it crossed α/K at one of its
looks. Holm then runs across the column as for any study. Whatever stopped a comparison
(the validation objective, in the scheduler), the union bound over the K pre-declared looks
keeps each comparison's false-positive rate at or below α.
"""

from __future__ import annotations

from dataclasses import replace

from ablate.report._stats import Paired, paired
from ablate.spec import StudySpec, baseline_of, cell_key, seed_sequence, sequential_design


def sequential_tests(
    spec: StudySpec, cells: tuple[dict, ...], by_cell: dict[str, dict[int, float]]
) -> list[Paired | None]:
    """Per cell (grid order): its paired test against its baseline cell, with the sequential
    p in place of the fixed-n t p (not yet Holm-adjusted); None for a baseline row."""
    design = sequential_design(spec)
    assert design is not None, "a study without adaptive_seeds"
    sequence = seed_sequence(spec)
    tests: list[Paired | None] = []
    for cell in cells:
        key, base = cell_key(cell), baseline_of(spec, cell)
        base_key = cell_key(base) if base is not None else None
        if base_key == key or base_key not in by_cell:
            tests.append(None)
            continue
        mine, theirs = by_cell.get(key, {}), by_cell[base_key]
        test = paired(mine, theirs)
        diffs = []
        for seed in sequence:  # look order, up to the first seed either lacks
            if seed not in mine or seed not in theirs:
                break
            diffs.append(mine[seed] - theirs[seed])
        p = design.sequential_p(diffs)
        why = test.t_undefined if p is None else ""
        tests.append(replace(test, p_t=p, t_undefined=why, alpha=design.alpha))
    return tests


def design_note(spec: StudySpec) -> str:
    """The footnote that states the design behind the † mark."""
    design = sequential_design(spec)
    assert design is not None and spec.adaptive_seeds is not None
    k = len(design.looks)
    return (
        f"Adaptive seeds (a group-sequential design): {design.describe()}. The seeds beyond "
        f"the declared {len(spec.seeds)} were added while a comparison with the baseline was "
        f"undecided on the validation objective ({spec.objective.metric}); the test split "
        f"chose none of them. Here p (t) is the sequential p: {k} × the smallest paired t p "
        f"over the looks the row's paired seeds reach, so † (p < {design.alpha:g} after Holm "
        f"across the column) means the row crossed α/K at one of its looks. Δ is the mean "
        "over all paired seeds (a mean after adaptive stopping leans slightly away from 0)."
    )
