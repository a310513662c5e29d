"""The deck: native tables equal to the markdown, figures, provenance; LibreOffice opens it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from sqlalchemy import Engine

from ablate.db import make_engine
from ablate.report import ablation_table, to_markdown, write_deck, write_markdown_report
from ablate.report._deck import (
    BOTTOM,
    HEIGHT,
    TABLE_TOP,
    WIDTH,
    _table_slides,
    footnotes_height,
    layout_of,
    rows_height,
    table_pages,
)
from ablate.report._model import Cell, Column, Section, Table


def _markdown_cells(markdown: str) -> list[list[str]]:
    rows = []
    for line in markdown.splitlines():
        if line.startswith("| ") and not line.startswith("| :---"):
            cells = [
                c.strip().removeprefix("**").removesuffix("**") for c in line[2:-2].split(" | ")
            ]
            rows.append(cells)
    return rows


def _pptx_cells(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        texts = [cell.text for cell in row.cells]
        if texts[0].startswith("Reported (not measured here)"):
            continue  # the section title row (a separate heading in markdown)
        rows.append(texts)
    return rows


def test_deck_slides_table_and_figures(fusion_engine: Engine, tmp_path: Path) -> None:
    out = write_deck(fusion_engine, ["fusion"], tmp_path / "meeting.pptx")
    deck = Presentation(str(out))
    slides = list(deck.slides)
    titles = [s.shapes.title.text for s in slides]
    assert titles == [
        "Ablation results",
        "fusion: results",
        "fusion: per-class accuracy (test)",
        "fusion: confusion matrices (test)",
        "fusion: validation curves",
    ]
    tables = [sh for sh in slides[1].shapes if sh.has_table]
    assert len(tables) == 1
    markdown = to_markdown(ablation_table(fusion_engine, "fusion", costs=True))
    expected = _markdown_cells(markdown)
    header = expected[0]
    expected = [r for i, r in enumerate(expected) if i == 0 or r != header]  # one header
    assert _pptx_cells(tables[0].table) == expected
    assert [c.text for c in tables[0].table.rows[0].cells][-2:] == ["Params (M)", "GFLOPs"]
    assert [c.text for c in tables[0].table.rows[1].cells][-2:] == ["0.00", "—"]  # 1000, None
    for slide in slides[3:]:
        assert any(sh.shape_type == MSO_SHAPE_TYPE.PICTURE for sh in slide.shapes)
    notes = slides[1].notes_slide.notes_text_frame.text
    assert "Trials (attempts) by state: complete ×8, failed ×2" in notes
    assert "Git commits: abc1234 ×10" in notes and "gpu-server-1" in notes


def test_libreoffice_converts_the_deck(
    fakes: SimpleNamespace, fusion_engine: Engine, tmp_path: Path
) -> None:
    soffice = fakes.require_tool("soffice")
    out = write_deck(fusion_engine, ["fusion"], tmp_path / "meeting.pptx")
    run = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), str(out)],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "meeting.pdf").stat().st_size > 10_000


def test_markdown_report_with_images(
    fusion_engine: Engine, search_engine: Engine, tmp_path: Path
) -> None:
    out = write_markdown_report(fusion_engine, ["fusion"], tmp_path / "report.md")
    text = out.read_text()
    assert "| sum | 3 | **69.30 ± 0.56** |" in text
    assert "![fusion: validation curves](report_files/fusion_curves.png)" in text
    assert (tmp_path / "report_files" / "fusion_curves.png").exists()


def test_search_study_deck(search_engine: Engine, tmp_path: Path) -> None:
    deck = Presentation(str(write_deck(search_engine, ["loss_weights"], tmp_path / "s.pptx")))
    titles = [s.shapes.title.text for s in deck.slides]
    assert titles == [
        "Ablation results",
        "loss_weights: best trials",
        "loss_weights: per-class accuracy (test)",
        "loss_weights: confusion matrices (test)",
        "loss_weights: validation curves",
        "loss_weights: loss-weight landscape",
        "loss_weights: parameter importances",  # once, as a figure (no table as well)
    ]
    (importance,) = [s for s in deck.slides if "importances" in s.shapes.title.text]
    assert not any(sh.has_table for sh in importance.shapes)


def test_title_slide_boxes_are_placed_and_apart(fusion_engine: Engine, tmp_path: Path) -> None:
    slide = Presentation(str(write_deck(fusion_engine, ["fusion"], tmp_path / "t.pptx"))).slides[0]
    title, subtitle = slide.shapes.title, slide.placeholders[1]
    for box in (title, subtitle):  # inherited (unset) coordinates render at top 0, height 0
        assert box.top > 0 and box.height > 0 and box.left > 0
        assert box.left + box.width <= WIDTH and box.top + box.height <= HEIGHT
    assert title.top + title.height <= subtitle.top


def test_description_under_the_first_title(fakes: SimpleNamespace, tmp_path: Path) -> None:
    spec = fakes.fusion_spec(description="Which fusion operator beats concat?")
    url = fakes.build_db(tmp_path / "d.sqlite", spec, fakes.fusion_trials())
    engine = make_engine(url, create=False)
    slides = list(Presentation(str(write_deck(engine, ["fusion"], tmp_path / "d.pptx"))).slides)
    texts = [[sh.text for sh in s.shapes if sh.has_text_frame] for s in slides]
    assert "Which fusion operator beats concat?" in texts[1]
    assert not any("Which fusion" in t for page in texts[2:] for t in page)
    (table,) = [sh for sh in slides[1].shapes if sh.has_table]
    (box,) = [sh for sh in slides[1].shapes if sh.has_text_frame and sh.text.startswith("Which")]
    assert slides[1].shapes.title.top + slides[1].shapes.title.height <= box.top
    assert box.top + box.height <= table.top


def _long_table(n_main: int, n_reported: int, notes: int) -> Table:
    columns = tuple(Column(f"c{i}", f"column {i}", (f"c{i}",)) for i in range(4))
    main = tuple(tuple(Cell.plain(f"r{r} c{c}") for c in range(4)) for r in range(n_main))
    reported = tuple(
        tuple(Cell.plain(f"ref{r} c{c}") for c in range(4)) for r in range(n_reported)
    )
    return Table(
        title="long",
        columns=columns,
        sections=(Section(main), Section(reported, title="Reported (not measured here)")),
        footnotes=tuple(f"note {i}: " + "why " * 60 for i in range(notes)),
    )


def test_a_long_table_continues_on_more_slides_and_leaves_the_footnotes_room(
    tmp_path: Path,
) -> None:
    table = _long_table(n_main=45, n_reported=12, notes=3)
    pages, separate = table_pages(table)
    layout = layout_of(table)
    assert len(pages) == 4 and not separate
    header = [c.title for c in table.columns]
    body = []
    for page in pages:
        assert page[0][0] == header  # every slide repeats the header
        assert TABLE_TOP + rows_height(layout, page) <= BOTTOM
        body += [texts for texts, _, heading in page if not heading]
    assert body == table.texts()[1:]  # every row once, in order
    headings = [texts[0] for page in pages for texts, _, heading in page[1:] if heading]
    assert headings.count("Reported (not measured here)") == 1
    assert TABLE_TOP + rows_height(layout, pages[-1]) + footnotes_height(table) <= BOTTOM

    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    _table_slides(deck, "fusion: results", table, ["provenance"])
    slides = list(deck.slides)
    assert [s.shapes.title.text for s in slides] == [
        f"fusion: results ({i}/4)" for i in (1, 2, 3, 4)
    ]
    for number, slide in enumerate(slides, start=1):
        (shape,) = [sh for sh in slide.shapes if sh.has_table]
        assert shape.top + sum(r.height for r in shape.table.rows) <= BOTTOM
        boxes = [sh for sh in slide.shapes if sh.has_text_frame and sh.text.startswith("note")]
        assert bool(boxes) == (number == 4)  # the footnotes go under the last part
        for box in boxes:
            assert shape.top + sum(r.height for r in shape.table.rows) <= box.top
            assert box.top + box.height <= HEIGHT


def test_a_wrapping_header_gets_the_height_it_needs() -> None:
    titles = ["fusion", "n", "p Accuracy (t / W)", "deep_supervision", "Δ Accuracy (pp)",
              "Kappa (%)", "p Kappa (t / W)", "Δ Kappa (pp)"]  # fmt: skip
    columns = tuple(Column(f"k{i}", t, (f"k{i}",)) for i, t in enumerate(titles))
    rows = tuple(tuple(Cell.plain("68.57 ± 0.45") for _ in titles) for _ in range(3))
    table = Table(title="t", columns=columns, sections=(Section(rows),))
    layout = layout_of(table)
    heights = layout.heights
    assert layout.size == 12 and heights[0] > heights[1] == heights[2]  # header: two lines
    # no header word is broken: each column is at least as wide as its longest word
    from ablate.report._layout import CELL_MARGIN_X, EMU_PER_PT, longest_word

    for title, width in zip(titles, layout.widths, strict=True):
        word = longest_word(title, layout.size, bold=True) * EMU_PER_PT
        assert width - 2 * CELL_MARGIN_X >= word - 1  # EMU rounding


def test_a_section_cut_by_a_slide_is_titled_again(tmp_path: Path) -> None:
    table = _long_table(n_main=5, n_reported=30, notes=0)
    pages, _ = table_pages(table)
    assert len(pages) == 3
    headings = [[t[0] for t, _, heading in page[1:] if heading] for page in pages]
    assert headings == [
        ["Reported (not measured here)"],
        ["Reported (not measured here) (continued)"],
        ["Reported (not measured here) (continued)"],
    ]
