"""The comparison columns that the study table and the cross-study table share: Δ and the
paired tests against the baseline, the seed budget, and the notes that explain them."""

from __future__ import annotations

from dataclasses import dataclass

from ablate.report._model import Cell, Column
from ablate.report._numbers import DASH, METRIC_TITLES, UNDEFINED, p_value, pct, signed
from ablate.report._power import MAX_SEEDS, POWER, ZERO_TARGET, SeedBudget, seed_budget
from ablate.report._stats import ALPHA, MARK, MIN_PAIRS, MIN_WILCOXON_PAIRS, Paired


@dataclass(frozen=True)
class Budget:
    """Show the seed budget; ``target_pp``: the difference the seed count is for (None: each
    row's observed |Δ|)."""

    target_pp: float | None = None


@dataclass(frozen=True)
class Compared:
    """One row's test in one metric column, with what the notes call the row."""

    label: str
    metric: str
    test: Paired | None


def comparison_columns(metric: str, budget: Budget | None) -> list[Column]:
    title = METRIC_TITLES[metric]
    columns = [
        Column(f"{metric}_delta", f"Δ {title} (pp)", (f"{metric}_delta",)),
        Column(
            f"{metric}_p",
            f"p {title} (t / W)",
            (f"{metric}_p_t", f"{metric}_p_wilcoxon", f"{metric}_p_t_holm"),
        ),
    ]
    if budget is not None:
        target = "|Δ|" if budget.target_pp is None else f"Δ={abs(budget.target_pp):.2f} pp"
        columns.append(Column(f"{metric}_mde", f"MDE {title} (pp)", (f"{metric}_mde",)))
        columns.append(
            Column(
                f"{metric}_seeds",
                f"Seeds for {target} ({title})",
                (f"{metric}_seeds_needed", f"{metric}_seeds_target"),
            )
        )
    return columns


def row_budget(test: Paired, budget: Budget) -> SeedBudget:
    sd = None if test.sd is None else 100.0 * test.sd
    delta = None if test.delta is None else 100.0 * test.delta
    return seed_budget(test.n, sd, delta, target_pp=budget.target_pp, at_least=MIN_PAIRS)


def _budget_cells(test: Paired | None, budget: Budget) -> list[Cell]:
    if test is None or test.delta is None:
        return [Cell(DASH, (None,)), Cell(DASH, (None, None))]
    found = row_budget(test, budget)
    mde = UNDEFINED if found.mde_pp is None else pct(found.mde_pp)
    if found.seeds is not None:
        seeds = str(found.seeds)
    else:
        seeds = UNDEFINED if found.undefined else f">{MAX_SEEDS}"
    return [Cell(mde, (found.mde_pp,)), Cell(seeds, (found.seeds, found.target_pp))]


def comparison_cells(test: Paired | None, is_baseline: bool, budget: Budget | None) -> list[Cell]:
    extra = 2 if budget is not None else 0
    if is_baseline:
        return [Cell("baseline", (0.0,)), Cell("", (None, None, None))] + [Cell("", ())] * extra
    if test is None or test.delta is None:
        cells = [Cell(DASH, (None,)), Cell(DASH, (None, None, None))]
    else:
        delta = 100.0 * test.delta
        mark = MARK if test.significant else ""
        t_text = UNDEFINED if test.t_undefined else p_value(test.p_t)
        w_text = UNDEFINED if test.wilcoxon_undefined else p_value(test.p_wilcoxon)
        cells = [
            Cell(signed(delta) + mark, (delta,)),
            Cell(f"{t_text} / {w_text}", (test.p_t, test.p_wilcoxon, test.p_holm)),
        ]
    return cells + (_budget_cells(test, budget) if budget is not None else [])


def comparison_legend(
    baseline: str, budget: Budget | None, *, sequential: bool = False
) -> list[str]:
    """``sequential``: the study added seeds adaptively, and its † follows its design."""
    mark = (
        f"{MARK} marks a row that crossed its sequential boundary at one of its looks, after "
        "Holm correction across the rows of that column (the footnote states the design)."
        if sequential
        else f"{MARK} marks a row whose t-test gives p < {ALPHA} after Holm correction "
        f"across the rows of that column, with ≥ {MIN_PAIRS} paired seeds."
    )
    lines = [
        f"Δ (pp): mean paired difference to the baseline ({baseline}) in percentage points, "
        "over the seeds both completed; p: two-sided paired t-test / exact Wilcoxon "
        f"signed-rank test; {mark}"
    ]
    if budget is not None:
        target = (
            "the row's observed |Δ|"
            if budget.target_pp is None
            else f"a difference of {abs(budget.target_pp):.2f} pp"
        )
        lines.append(
            f"Seed budget: MDE (pp) is the smallest |Δ| that the two-sided paired t-test "
            f"(α = {ALPHA}) detects with power {POWER} over the row's paired seeds, given the "
            f"observed sd of its paired differences; 'Seeds for' is the fewest paired seeds "
            f"that reach power {POWER} for {target} at that sd (noncentral t; at least "
            f"{MIN_PAIRS}, the fewest the {MARK} mark takes; >{MAX_SEEDS}: more)."
        )
    return lines


def significance_notes(rows: list[Compared], budget: Budget | None = None) -> list[str]:
    """Why a row carries no mark (too few paired seeds, an undefined test), the floor of the
    exact Wilcoxon p-value, and rows without a seed budget."""
    few: dict[int, list[str]] = {}
    undefined_t: list[str] = []
    undefined_w: list[str] = []
    no_budget: dict[str, list[str]] = {}
    small: set[int] = set()
    for row in rows:
        test = row.test
        if test is None or test.n == 0:
            continue
        where = f"{row.label}, {METRIC_TITLES[row.metric]}"
        if test.too_few and row.label not in few.setdefault(test.n, []):
            few[test.n].append(row.label)
        if test.t_undefined:
            undefined_t.append(where)
        if test.wilcoxon_undefined:
            undefined_w.append(where)
        if test.n < MIN_WILCOXON_PAIRS:
            small.add(test.n)
        if budget is not None and (found := row_budget(test, budget)).undefined:
            no_budget.setdefault(found.undefined, []).append(where)
    notes = [
        f"n={n} paired seed{'s' * (n > 1)} ({'; '.join(labels)}): at least {MIN_PAIRS} are "
        f"needed for the {MARK} mark; no significance claimed."
        for n, labels in sorted(few.items())
    ]
    if undefined_t:
        notes.append(
            f"t-test {UNDEFINED} ({'; '.join(undefined_t)}): the paired differences to the "
            "baseline are identical on every seed (zero variance), so the t statistic has no "
            "finite value; no significance claimed."
        )
    if undefined_w:
        notes.append(
            f"Wilcoxon {UNDEFINED} ({'; '.join(undefined_w)}): every paired difference is "
            "zero, so there is nothing to rank."
        )
    if small:
        ns = ", ".join(str(n) for n in sorted(small))
        notes.append(
            f"The exact Wilcoxon p cannot go below 2/2^n, so with fewer than "
            f"{MIN_WILCOXON_PAIRS} paired seeds (here n={ns}) it cannot reach 0.05; it is "
            f"shown for information, the {MARK} mark rests on the t-test."
        )
    for reason, where in no_budget.items():
        if reason == ZERO_TARGET:
            notes.append(
                f"Seeds for the target {UNDEFINED} ({'; '.join(where)}): the observed Δ is 0; "
                "give --target-delta PP for the difference to plan for."
            )
        else:
            notes.append(
                f"Seed budget {UNDEFINED} ({'; '.join(where)}): {reason}, so there is no "
                "spread of paired differences to plan from."
            )
    return notes
