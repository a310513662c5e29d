"""Formats: LaTeX that compiles, HTML and rich from the same Table model."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import Engine

from ablate.report import ablation_table, latex_escape, render, to_latex, to_rich


def test_latex_escapes_what_latex_needs() -> None:
    assert latex_escape("loss_weights 5% & #1 {a} ±—Δ†") == (
        r"loss\_weights 5\% \& \#1 \{a\} $\pm$---$\Delta$$^\dagger$"
    )


def test_latex_compiles_and_shows_the_numbers(
    fakes: SimpleNamespace, fusion_engine: Engine, tmp_path: Path
) -> None:
    pdflatex = fakes.require_tool("pdflatex")
    pdftotext = fakes.require_tool("pdftotext")
    table = ablation_table(fusion_engine, "fusion", metrics=("accuracy", "kappa", "macro_f1"))
    (tmp_path / "t.tex").write_text(to_latex(table, standalone=True), encoding="utf-8")
    run = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    subprocess.run([pdftotext, "t.pdf", "t.txt"], cwd=tmp_path, check=True, timeout=60)
    page = (tmp_path / "t.txt").read_text()
    for number in ("68.57", "0.45", "69.30", "+0.73", "0.014 / 0.250", "70.02", "loss is NaN"):
        assert number in page


def test_html_and_rich(fusion_engine: Engine) -> None:
    table = ablation_table(fusion_engine, "fusion")
    html = render(table, "html")
    assert "<strong>69.30 ± 0.56</strong>" in html
    assert "<em>Reported (not measured here)</em>" in html
    assert to_rich(table).row_count == 5  # 3 cells + section title + 1 reference
