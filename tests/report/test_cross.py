"""One table across studies: a section per study, one baseline, references once, costs, the
seed budget; every format, the CLI and the deck."""

from __future__ import annotations

import csv
import io
import math
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pptx import Presentation
from sqlalchemy import Engine
from typer.testing import CliRunner

from ablate.cli import app
from ablate.db import make_engine
from ablate.errors import UsageError
from ablate.report import (
    BaselineChoice,
    StudyPart,
    cross_study_table,
    parse_baseline,
    render,
    to_latex,
    to_markdown,
    write_deck,
)
from ablate.report._power import detectable_dz

PARTS = [
    StudyPart("modality"),
    StudyPart("loss_variants"),
    StudyPart("fusion", "Fusion operators"),
]
runner = CliRunner()


@pytest.fixture
def three(three_url: str) -> Engine:
    return make_engine(three_url, create=False)


def rows_of(table) -> dict[str, tuple]:
    return {row[0].text: row for section in table.sections for row in section.rows}


def test_one_baseline_for_every_row_hand_checked(fakes: SimpleNamespace, three: Engine) -> None:
    table = cross_study_table(three, PARTS, metrics=("accuracy",), seed_budget=True)
    rows = rows_of(table)
    # fusion=sum (seeds 0-2) against modality=fused, over the 3 seeds both have:
    # (69.2-68.0, 69.9-69.0, 68.8-68.5) = (1.2, 0.9, 0.3) pp → Δ = +0.80 pp, sd 0.458 pp
    diffs = 100 * (np.array(fakes.FUSION_ACC["sum"]) - np.array(fakes.MODALITY_ACC["fused"][:3]))
    assert np.allclose(diffs, [1.2, 0.9, 0.3])
    delta, p, mde, seeds = (c.text for c in rows["fusion=sum"][3:7])
    assert delta == "+0.80" and p == "0.094 / 0.250"
    assert math.isclose(rows["fusion=sum"][3].numbers[0], 0.80, abs_tol=1e-9)
    assert mde == "1.50"  # 3.264 × 0.458 pp
    assert math.isclose(rows["fusion=sum"][5].numbers[0], 3.2640 * diffs.std(ddof=1), abs_tol=2e-3)
    assert seeds == "5"  # d_z = 0.80 / 0.458 = 1.75: n=4 needs 2.06, n=5 needs 1.68
    # loss_variants deep_supervision=0.5 against the same baseline over all 5 seeds:
    # (1.0, 0.4, 0.5, 0.9, 0.8) pp → +0.72, marked after Holm over the 7 compared rows
    assert rows["deep_supervision=0.5"][3].text == "+0.72†"
    assert [c.text for c in rows["modality=fused"][3:5]] == ["baseline", ""]
    assert rows["fusion=concat"][3].text == "+0.07"  # compared too: not the baseline
    assert [s.title for s in table.sections] == [
        "modality: RS only vs social only vs fused",
        "loss_variants: CE vs + deep supervision",
        "fusion: Fusion operators",
        "Reported (not measured here)",
    ]
    assert len(table.sections[-1].rows) == 1  # Cao et al. named by modality and fusion: once
    assert [c.title for c in table.columns][-2:] == ["Params (M)", "GFLOPs"]
    assert [c.text for c in rows["modality=rs"]][-2:] == ["11.70", "3.60"]
    assert any("different seeds (modality: 0–4; loss_variants: 0–4; fusion: 0–2)" in n
               for n in table.footnotes)  # fmt: skip
    assert "fusion: Failed, not averaged in (1 run): fusion=max seed 2 (ValueError: loss is " \
        "NaN)." in table.footnotes  # fmt: skip


def test_markdown(three: Engine) -> None:
    text = to_markdown(cross_study_table(three, PARTS, metrics=("accuracy",)))
    assert text.startswith(
        "**modality, loss_variants, fusion: test split, mean ± std over seeds (%)**\n\n"
        "*modality: RS only vs social only vs fused*\n\n"
        "| Cell | n | Accuracy (%) | Δ Accuracy (pp) | p Accuracy (t / W) | Params (M) "
        "| GFLOPs |\n"
        "| :--- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        "| modality=rs | 5 | 60.50 ± 0.61 | -7.94† | <0.001 / 0.062 | 11.70 | 3.60 |\n"
    )
    assert "| fusion=sum | 3 | **69.30 ± 0.56** | +0.80 | 0.094 / 0.250 | 0.00 | — |\n" in text
    assert "| Cao et al. 2020 (reported) |  | 70.02 |  |  |  |  |\n" in text
    assert "baseline (modality: modality=fused)" in text


def test_csv_has_a_section_column(three: Engine) -> None:
    rows = list(csv.DictReader(io.StringIO(render(cross_study_table(three, PARTS), "csv"))))
    assert [r["section"] for r in rows].count("fusion: Fusion operators") == 3
    row = next(r for r in rows if r["cell"] == "fusion=sum")
    assert math.isclose(float(row["accuracy_delta"]), 0.80, abs_tol=1e-9)
    assert rows[-1]["section"] == "Reported (not measured here)"


def test_latex_compiles(fakes: SimpleNamespace, three: Engine, tmp_path: Path) -> None:
    pdflatex = fakes.require_tool("pdflatex")
    pdftotext = fakes.require_tool("pdftotext")
    table = cross_study_table(three, PARTS, metrics=("accuracy",), seed_budget=True)
    (tmp_path / "t.tex").write_text(to_latex(table, standalone=True), encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    subprocess.run([pdftotext, "t.pdf", "t.txt"], cwd=tmp_path, check=True, timeout=60)
    page = (tmp_path / "t.txt").read_text()
    for text in ("Fusion operators", "+0.80", "+0.72", "70.02", "11.70", "baseline"):
        assert text in page


def test_html_and_other_baseline(three: Engine) -> None:
    choice = parse_baseline("fusion:fusion=concat")
    assert choice == BaselineChoice("fusion", ("fusion=concat",))
    table = cross_study_table(three, PARTS, baseline=choice, metrics=("accuracy",))
    rows = rows_of(table)
    assert rows["fusion=concat"][3].text == "baseline"
    # over seeds 0-2: (68.0 + 69.0 + 68.5) / 3 − (68.6 + 69.0 + 68.1) / 3 = 68.50 − 68.57
    assert rows["modality=fused"][3].text == "-0.07"
    assert "<em>fusion: Fusion operators</em>" in render(table, "html")


def test_bad_baselines_are_one_line(three: Engine) -> None:
    with pytest.raises(UsageError, match=r"^Bad --baseline 'fusion': expected STUDY:FACTOR"):
        parse_baseline("fusion")
    with pytest.raises(UsageError) as caught:
        cross_study_table(three, PARTS, baseline=parse_baseline("fusion:fusion=nope"))
    assert str(caught.value) == (
        "No cell matches fusion=nope; the cells are: fusion=concat; fusion=sum; fusion=max."
    )
    with pytest.raises(UsageError) as caught:
        cross_study_table(three, PARTS[:2], baseline=parse_baseline("fusion:fusion=sum"))
    assert str(caught.value) == (
        "--baseline names study 'fusion', which is not in the table; add --study fusion or "
        "choose one of: modality, loss_variants."
    )


def test_cli_several_studies_and_a_table_file(three_url: str, tmp_path: Path) -> None:
    base = ["table", "--storage", three_url, "-f", "markdown", "-m", "accuracy"]
    studies = ["-s", "modality", "-s", "loss_variants", "-s", "fusion"]
    result = runner.invoke(app, [*base, *studies, "--target-delta", "1"])
    assert result.exit_code == 0, result.output
    assert "| MDE Accuracy (pp) | Seeds for Δ=1.00 pp (Accuracy) |" in result.output
    assert "| fusion=sum | 3 | **69.30 ± 0.56** | +0.80 | 0.094 / 0.250 | 1.50 | 4 |" in (
        result.output
    )  # d_z = 1.0 / 0.458 = 2.18 ≥ 2.06 (n=4)
    spec = tmp_path / "paper_table.yaml"
    spec.write_text(
        "title: Main results\n"
        "studies:\n  - modality\n  - {study: loss_variants, label: Losses}\n  - fusion\n"
        "baseline: {study: modality, cell: {modality: fused}}\n"
        "references:\n  - {label: Cao et al., test_accuracy: 70.02}\n"
    )
    result = runner.invoke(app, [*base, "--from", str(spec)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("**Main results**\n")
    assert "*loss_variants: Losses*" in result.output
    assert "| Cao et al. |  | 70.02 |" in result.output and "(reported)" not in result.output


def test_cli_errors(three_url: str, tmp_path: Path) -> None:
    def error(*args: str) -> str:
        result = runner.invoke(app, ["table", "--storage", three_url, *args])
        assert result.exit_code == 2, result.output
        return result.stderr

    assert error() == (
        "error: Name the study: --study NAME (repeat it for one table across studies), or "
        "--from TABLE.yaml.\n"
    )
    assert error("-s", "fusion", "--from", "t.yaml") == (
        "error: Give either --from TABLE.yaml or --study NAME, not both.\n"
    )
    assert error("-s", "fusion", "-s", "modality", "--per-class") == (
        "error: --per-class shows one study at a time; give a single --study.\n"
    )
    assert error("-s", "fusion", "--target-delta", "-1") == (
        "error: Bad --target-delta -1.0: give the difference to plan for in percentage "
        "points, a number above 0 (e.g. --target-delta 1.0).\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("studies:\n  - modality\n  - {study: fusion, lable: x}\n")
    assert error("--from", str(bad)) == (
        f"error: Unknown key 'lable' at studies[1] in {bad}:3; did you mean 'label'?\n"
    )


def test_deck_gets_a_cross_study_slide(three: Engine, tmp_path: Path) -> None:
    out = write_deck(three, ["modality", "fusion"], tmp_path / "d.pptx")
    slides = list(Presentation(str(out)).slides)
    assert slides[1].shapes.title.text == "all studies: results"
    grid = next(sh for sh in slides[1].shapes if sh.has_table).table
    texts = [[c.text for c in row.cells] for row in grid.rows]
    assert texts[0][-2:] == ["Params (M)", "GFLOPs"]
    headings = [row[0] for row in texts if not any(row[1:])]
    assert headings == [
        "modality: RS only vs social only vs fused",
        "fusion",  # no description, no label: the name alone
        "Reported (not measured here)",
    ]
    single = list(Presentation(str(write_deck(three, ["fusion"], tmp_path / "s.pptx"))).slides)
    assert single[1].shapes.title.text == "fusion: results"  # one study: no cross slide


def test_seed_budget_in_the_study_table(three: Engine) -> None:
    from ablate.report import ablation_table

    table = ablation_table(three, "modality", metrics=("accuracy",), seed_budget=True)
    row = rows_of(table)["rs"]
    diffs = 100 * (np.array([0.600, 0.610, 0.605, 0.598, 0.612]) - np.array(
        [0.680, 0.690, 0.685, 0.679, 0.688]))  # fmt: skip
    assert math.isclose(row[5].numbers[0], (detectable_dz(5) or 0) * diffs.std(ddof=1))
    assert row[6].text == "3"  # a 7.9 pp difference: the 3 seeds the † mark needs
    assert [c.key for c in table.columns][-2:] == ["accuracy_mde", "accuracy_seeds"]


def test_markdown_report_starts_with_the_cross_study_table(three: Engine, tmp_path: Path) -> None:
    from ablate.report import write_markdown_report

    text = write_markdown_report(three, ["modality", "fusion"], tmp_path / "r.md").read_text()
    assert text.startswith("# Ablation results\n\n## All studies: results\n\n**modality, fusion")
