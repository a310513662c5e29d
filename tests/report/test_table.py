"""Golden tests: the table's numbers against values computed here, independently."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from scipy.stats import t as student_t
from sqlalchemy import Engine

from ablate.db import make_engine
from ablate.report import Table, ablation_table, per_class_table, render, to_markdown

TOO_FEW_2 = (
    "n=2 paired seeds (fusion=max): at least 3 are needed for the † mark; no significance claimed."
)
WILCOXON_FLOOR = (
    "The exact Wilcoxon p cannot go below 2/2^n, so with fewer than 6 paired seeds (here n=2, "
    "3) it cannot reach 0.05; it is shown for information, the † mark rests on the t-test."
)
FUSION_CONCAT = [0.686, 0.690, 0.681]  # = conftest.FUSION_ACC
FUSION_SUM = [0.692, 0.699, 0.688]


def t_test_p(diffs: list[float]) -> float:
    d = np.asarray(diffs)
    t = d.mean() / (d.std(ddof=1) / math.sqrt(len(d)))
    return float(2 * student_t.sf(abs(t), len(d) - 1))


def exact_wilcoxon_p(diffs: list[float]) -> float:
    """Two-sided exact p by enumerating every sign assignment (no ties, no zeros here)."""
    ranks = np.argsort(np.argsort(np.abs(diffs))) + 1
    w = sum(r for r, d in zip(ranks, diffs, strict=True) if d > 0)
    all_w = [sum(r for r, s in zip(ranks, signs, strict=True) if s)
             for signs in itertools.product([0, 1], repeat=len(diffs))]  # fmt: skip
    low = sum(x <= w for x in all_w) / len(all_w)
    high = sum(x >= w for x in all_w) / len(all_w)
    return min(1.0, 2 * min(low, high))


def rows_by_cell(table: Table) -> dict[str, tuple]:
    return {row[0].text: row for row in table.sections[0].rows}


def test_mean_std_delta_and_p_values_match_independent_computation(
    fakes: SimpleNamespace, fusion_engine: Engine
) -> None:
    table = ablation_table(fusion_engine, "fusion", metrics=("accuracy",))
    rows = rows_by_cell(table)
    titles = [c.key for c in table.columns]
    assert titles == ["model.fusion", "n", "accuracy", "accuracy_delta", "accuracy_p"]
    for fusion, accs in fakes.FUSION_ACC.items():
        values = 100 * np.array(accs)
        mean, std = rows[fusion][2].numbers
        assert math.isclose(mean, values.mean(), rel_tol=1e-12)
        assert math.isclose(std, values.std(ddof=1), rel_tol=1e-12)
        assert rows[fusion][1].text == str(len(accs))
        assert rows[fusion][2].text == f"{values.mean():.2f} ± {values.std(ddof=1):.2f}"
    base = fakes.FUSION_ACC["concat"]
    for fusion in ("sum", "max"):
        diffs = [100 * (a - b) for a, b in zip(fakes.FUSION_ACC[fusion], base, strict=False)]
        (delta,) = rows[fusion][3].numbers
        p_t, p_w, _ = rows[fusion][4].numbers
        assert math.isclose(delta, float(np.mean(diffs)), rel_tol=1e-9)
        assert math.isclose(p_t, t_test_p(diffs), rel_tol=1e-9)
        assert math.isclose(p_w, exact_wilcoxon_p(diffs), rel_tol=1e-9)
    assert rows["concat"][3].text == "baseline"
    assert rows["sum"][4].text == "0.014 / 0.250"


def test_three_seeds_can_be_marked_and_two_cannot(fusion_engine: Engine) -> None:
    table = ablation_table(fusion_engine, "fusion", metrics=("accuracy",))
    rows = rows_by_cell(table)
    # sum: 3 paired seeds, t-test p = 0.014; the only markable row, so Holm leaves it as is
    diffs = [100 * (a - b) for a, b in zip(FUSION_SUM, FUSION_CONCAT, strict=True)]
    assert rows["sum"][3].text == "+0.73†"
    assert math.isclose(rows["sum"][4].numbers[2], t_test_p(diffs), rel_tol=1e-9)
    # max: 2 paired seeds (p = 0.060 anyway): never marked, and the footnote says why
    assert rows["max"][3].text == "-4.20" and rows["max"][4].numbers[2] is None
    assert TOO_FEW_2 in table.footnotes and WILCOXON_FLOOR in table.footnotes
    assert (
        "after Holm correction across the rows of that column, with ≥ 3 paired seeds"
        in (table.legend[1])
    )


def _three_seed_db(fakes: SimpleNamespace, tmp_path: Path, rows: dict[str, list[float]]):
    seeds = [0, 1, 2]
    spec = fakes.fusion_spec(seeds=seeds, grid={"model.fusion": list(rows)}, references=[])
    trials = [fakes.FakeTrial({"model.fusion": f}, s, accuracy=a)
              for f, accs in rows.items() for s, a in zip(seeds, accs, strict=False)]  # fmt: skip
    return make_engine(fakes.build_db(tmp_path / "h.sqlite", spec, trials), create=False)


def test_holm_correction_across_the_column(fakes: SimpleNamespace, tmp_path: Path) -> None:
    base = [0.680, 0.690, 0.700]
    sum_diffs, max_diffs = [0.010, 0.020, 0.015], [0.012, 0.022, 0.017]
    engine = _three_seed_db(fakes, tmp_path, {
        "concat": base,
        "sum": [b + d for b, d in zip(base, sum_diffs, strict=True)],
        "max": [b + d for b, d in zip(base, max_diffs, strict=True)],
    })  # fmt: skip
    rows = rows_by_cell(ablation_table(engine, "fusion", metrics=("accuracy",)))
    p_sum = t_test_p([100 * d for d in sum_diffs])  # 0.035
    p_max = t_test_p([100 * d for d in max_diffs])  # 0.028
    assert 0.025 < p_max < p_sum < 0.05  # each alone would be marked
    p_t, _, p_holm = rows["max"][4].numbers
    assert math.isclose(p_t, p_max, rel_tol=1e-6)
    assert math.isclose(p_holm, 2 * p_max, rel_tol=1e-6)  # the smaller of 2: times 2
    assert math.isclose(rows["sum"][4].numbers[2], max(2 * p_max, p_sum), rel_tol=1e-6)
    assert not rows["sum"][3].text.endswith("†") and not rows["max"][3].text.endswith("†")


def test_undefined_tests_print_as_undefined(fakes: SimpleNamespace, tmp_path: Path) -> None:
    engine = _three_seed_db(fakes, tmp_path, {
        "concat": [0.68, 0.69],
        "sum": [0.70, 0.71],  # +2.00 on both seeds: zero variance
        "max": [0.68, 0.69],  # identical to the baseline
    })  # fmt: skip
    table = ablation_table(engine, "fusion", metrics=("accuracy",))
    rows = rows_by_cell(table)
    assert [c.text for c in rows["sum"][3:5]] == ["+2.00", "undef. / 0.500"]
    assert [c.text for c in rows["max"][3:5]] == ["+0.00", "undef. / undef."]
    assert rows["sum"][4].numbers == (None, 0.5, None)
    assert (
        "t-test undef. (fusion=sum, Accuracy; fusion=max, Accuracy): the paired differences "
        "to the baseline are identical on every seed (zero variance), so the t statistic has "
        "no finite value; no significance claimed."
    ) in table.footnotes
    assert (
        "Wilcoxon undef. (fusion=max, Accuracy): every paired difference is zero, so there is "
        "nothing to rank."
    ) in table.footnotes
    assert (
        "n=2 paired seeds (fusion=sum; fusion=max): at least 3 are needed for the † mark; "
        "no significance claimed."
    ) in table.footnotes


def test_six_seeds_wilcoxon_shown_t_test_decides(fakes: SimpleNamespace, tmp_path: Path) -> None:
    seeds = list(range(6))
    base = [0.680, 0.684, 0.679, 0.690, 0.686, 0.681]
    better = [b + 0.01 + 0.001 * s for s, b in enumerate(base)]  # all six differences > 0
    mixed = [b + (0.02 if s < 5 else -0.001) for s, b in enumerate(base)]  # one < 0
    spec = fakes.fusion_spec(seeds=seeds, grid={"model.fusion": ["concat", "sum", "max"]})
    trials = [fakes.FakeTrial({"model.fusion": f}, s, accuracy=a)
              for f, accs in (("concat", base), ("sum", better), ("max", mixed))
              for s, a in zip(seeds, accs, strict=True)]  # fmt: skip
    engine = make_engine(fakes.build_db(tmp_path / "six.sqlite", spec, trials), create=False)
    table = ablation_table(engine, "fusion", metrics=("accuracy",))
    rows = rows_by_cell(table)
    p_t, p_w, p_holm = rows["sum"][4].numbers
    assert math.isclose(p_w, 2 / 2**6) and p_t < p_holm < 0.05
    assert rows["sum"][3].text.endswith("†")
    diffs = [100 * (m - b) for m, b in zip(mixed, base, strict=True)]
    p_max = t_test_p(diffs)
    assert p_max < 0.05 < exact_wilcoxon_p(diffs)  # t says yes, W says no: t decides
    assert math.isclose(rows["max"][4].numbers[2], max(p_max, 2 * p_t), rel_tol=1e-6)
    assert rows["max"][3].text.endswith("†")
    assert not any("paired seed" in note or "Wilcoxon p" in note for note in table.footnotes)


def test_failed_runs_are_named_and_retried_runs_are_not_failures(fusion_engine: Engine) -> None:
    notes = ablation_table(fusion_engine, "fusion").footnotes
    assert "Failed, not averaged in (1 run): fusion=max seed 2 (ValueError: loss is NaN)." in notes
    assert (
        "Retried, then complete (counted once): fusion=sum seed 1 "
        "(1 failed attempt: RuntimeError: CUDA out of memory)."
    ) in notes
    rows = rows_by_cell(ablation_table(fusion_engine, "fusion"))
    assert rows["sum"][1].text == "3" and rows["max"][1].text == "2"


def test_cells_without_any_trial_are_named(fakes: SimpleNamespace, tmp_path: Path) -> None:
    spec = fakes.fusion_spec(grid={"model.fusion": ["concat", "sum", "max", "gated"]})
    trials = [
        *fakes.fusion_trials(),
        fakes.FakeTrial({"model.fusion": "gated"}, 0, state="running"),
    ]
    engine = make_engine(fakes.build_db(tmp_path / "g.sqlite", spec, trials), create=False)
    table = ablation_table(engine, "fusion")
    notes = table.footnotes
    assert (
        "Still running, not averaged in (1 run): fusion=gated seed 0 (no reason recorded)."
        in notes
    )
    assert "Not started (2 runs): fusion=gated seed 1; fusion=gated seed 2." in notes
    gated = rows_by_cell(table)["gated"]
    assert [c.text for c in gated[1:4]] == ["0", "—", "—"]


def test_references_are_shown_apart(fusion_engine: Engine) -> None:
    table = ablation_table(fusion_engine, "fusion", metrics=("accuracy",))
    assert len(table.sections) == 2
    reported = table.sections[1]
    assert reported.title == "Reported (not measured here)"
    assert [c.text for c in reported.rows[0]][:3] == ["Cao et al. 2020 (reported)", "", "70.02"]
    assert all("Cao" not in row[0].text for row in table.sections[0].rows)
    assert not any(c.bold for c in reported.rows[0])  # a reported number is never "best"


def test_markdown_golden(fusion_engine: Engine) -> None:
    text = to_markdown(ablation_table(fusion_engine, "fusion", metrics=("accuracy",)))
    assert text == (
        "**fusion: test split, mean ± std over seeds (%)**\n"
        "\n"
        "| fusion | n | Accuracy (%) | Δ Accuracy (pp) | p Accuracy (t / W) |\n"
        "| :--- | ---: | ---: | ---: | ---: |\n"
        "| concat | 3 | 68.57 ± 0.45 | baseline |  |\n"
        "| sum | 3 | **69.30 ± 0.56** | +0.73† | 0.014 / 0.250 |\n"
        "| max | 2 | 64.60 ± 0.85 | -4.20 | 0.060 / 0.500 |\n"
        "\n"
        "*Reported (not measured here)*\n"
        "\n"
        "| fusion | n | Accuracy (%) | Δ Accuracy (pp) | p Accuracy (t / W) |\n"
        "| :--- | ---: | ---: | ---: | ---: |\n"
        "| Cao et al. 2020 (reported) |  | 70.02 |  |  |\n"
        "\n"
        "- Mean ± sample standard deviation (ddof=1) over seeds, in percent; n = seeds with a "
        "complete trial; the best mean of each column is in bold.\n"
        "- Δ (pp): mean paired difference to the baseline (fusion=concat) in percentage "
        "points, over the seeds both completed; p: two-sided paired t-test / exact Wilcoxon "
        "signed-rank test; † marks a row whose t-test gives p < 0.05 after Holm correction "
        "across the rows of that column, with ≥ 3 paired seeds.\n"
        f"- {TOO_FEW_2}\n"
        f"- {WILCOXON_FLOOR}\n"
        "- Failed, not averaged in (1 run): fusion=max seed 2 (ValueError: loss is NaN).\n"
        "- Retried, then complete (counted once): fusion=sum seed 1 (1 failed attempt: "
        "RuntimeError: CUDA out of memory).\n"
    )


def test_csv_holds_plain_numbers(fakes: SimpleNamespace, fusion_engine: Engine) -> None:
    lines = render(ablation_table(fusion_engine, "fusion", metrics=("kappa",)), "csv").splitlines()
    assert lines[0] == (
        "section,model.fusion,n,kappa_mean,kappa_std,kappa_delta,kappa_p_t,kappa_p_wilcoxon,"
        "kappa_p_t_holm"
    )
    fields = lines[1].split(",")
    values = 100 * (np.array(fakes.FUSION_ACC["concat"]) - 0.1)
    assert fields[:3] == ["measured", "concat", "3"]
    assert math.isclose(float(fields[3]), values.mean()) and math.isclose(
        float(fields[4]), values.std(ddof=1)
    )
    assert lines[-1].startswith("Reported (not measured here),Cao et al. 2020 (reported),,,")


def test_val_split_and_per_class(fakes: SimpleNamespace, fusion_engine: Engine) -> None:
    val = rows_by_cell(ablation_table(fusion_engine, "fusion", split="val", metrics=("accuracy",)))
    assert math.isclose(
        val["concat"][2].numbers[0], 100 * (np.mean(fakes.FUSION_ACC["concat"]) - 0.01)
    )
    table = per_class_table(fusion_engine, "fusion")
    assert [c.title for c in table.columns][2] == "Residential area"
    row = rows_by_cell(table)["sum"]
    expected = 100 * (np.array(fakes.FUSION_ACC["sum"]) + 0.01 * (0 - 4))
    assert math.isclose(row[2].numbers[0], expected.mean()) and row[2].bold
