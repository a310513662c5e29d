"""What figures and per-class tables show: a search study's best trial (never the last one to
finish), full class names, TrueType fonts in PDFs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import pytest
from sqlalchemy import Engine

from ablate.report import _plots as plots
from ablate.report import per_class_table, plot

BEST = "best trial by val_accuracy: trial 1 (deep_supervision=0.9, distillation=0.1)"


@pytest.fixture
def figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the plot functions save, kept for inspection instead of written."""
    kept: list[Any] = []

    def keep(figure: Any, out_dir: Path, stem: str, fmt: str) -> Path:
        kept.append(figure)
        return out_dir / f"{stem}.{fmt}"

    monkeypatch.setattr(plots, "save", keep)
    return kept


def test_search_per_class_shows_the_best_trial(search_engine: Engine) -> None:
    table = per_class_table(search_engine, "loss_weights")
    (row,) = table.sections[0].rows
    assert table.columns[0].title == "Best trial by val_accuracy"
    assert row[0].text == "trial 1 (deep_supervision=0.9, distillation=0.1)"
    assert row[1].text == "1"
    assert row[2].text == "66.01 ± —"  # 0.60 + 0.09 + 0.0001 + 0.01, class 0 is 4 points lower
    assert "per-class accuracy on the test split, of the best trial by val_accuracy" in table.title


def test_search_curves_and_confusion_show_the_best_trial(
    search_engine: Engine, tmp_path: Path, figures: list[Any]
) -> None:
    plot("curves", search_engine, "loss_weights", out_dir=tmp_path)
    (curves,) = figures
    assert [t.get_text().replace("\n", " ") for t in curves.legends[0].get_texts()] == [BEST]
    assert curves.axes[0].get_title() == "loss_weights: validation accuracy of the best trial"
    plot("confusion", search_engine, "loss_weights", out_dir=tmp_path)
    title = figures[1]._suptitle.get_text()
    assert title == f"loss_weights · {BEST}\ntest split, the best trial"


def test_class_names_are_never_abbreviated(
    fusion_engine: Engine, tmp_path: Path, figures: list[Any]
) -> None:
    plots.plot_confusion_overview(fusion_engine, "fusion", out_dir=tmp_path)
    (figure,) = figures
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert "Shopping area" in labels and "Administrative district" in labels
    assert not any(label.endswith(".") for label in labels)
    assert "Residential area" in [t.get_text() for t in figure.axes[0].get_yticklabels()]


def test_large_study_confusion_takes_several_figures(fakes, tmp_path: Path) -> None:
    from ablate.db import make_engine

    fusions = ["concat", "sum", "max", "gated", "difference", "product"]
    spec = fakes.fusion_spec(grid={"model.fusion": fusions}, references=[])
    trials = [fakes.FakeTrial({"model.fusion": f}, 0) for f in fusions]
    engine = make_engine(fakes.build_db(tmp_path / "six.sqlite", spec, trials), create=False)
    paths = plots.plot_confusion_overview(engine, "fusion", out_dir=tmp_path)
    assert [p.name for p in paths] == [
        "fusion_confusion_overview_1.png",
        "fusion_confusion_overview_2.png",
    ]  # at most 4 matrices per figure (per slide)


def test_pdf_figures_embed_truetype_not_type3(fusion_engine: Engine, tmp_path: Path) -> None:
    before = matplotlib.rcParams["pdf.fonttype"]
    (path,) = plot("curves", fusion_engine, "fusion", out_dir=tmp_path, fmt="pdf")
    data = path.read_bytes()
    assert b"/Subtype /Type3" not in data and b"/Subtype /CIDFontType2" in data  # TrueType
    assert matplotlib.rcParams["pdf.fonttype"] == before  # the caller's settings are kept
