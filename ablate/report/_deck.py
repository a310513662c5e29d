"""The group-meeting deck: native (editable) PowerPoint tables, figures, provenance notes."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pptx import Presentation
from pptx.util import Emu, Inches, Pt
from sqlalchemy import Engine

from ablate.report._model import Table
from ablate.report._slides import StudySlides, study_slides

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.4)
TITLE_ONLY = 5
BLANK_TITLE = 0


def _title(slide, text: str) -> None:
    title = slide.shapes.title
    # the default template is 4:3; place the title on the 16:9 slide
    title.left, title.top, title.width, title.height = (
        MARGIN,
        Inches(0.25),
        WIDTH - 2 * MARGIN,
        Inches(0.9),
    )
    title.text = text
    title.text_frame.paragraphs[0].font.size = Pt(28)


def _notes(slide, lines: list[str]) -> None:
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)


def add_table(slide, table: Table, *, top: Emu, height: Emu) -> object:
    """A native table: header, rows, and a title row before each titled section."""
    rows: list[tuple[list[str], list[bool], bool]] = []
    rows.append(([c.title for c in table.columns], [True] * len(table.columns), True))
    for section in table.sections:
        if section.title:
            blank = [""] * (len(table.columns) - 1)
            rows.append(([section.title, *blank], [False] * len(table.columns), True))
        rows += [([c.text for c in r], [c.bold for c in r], False) for r in section.rows]
    size = Pt(12 if len(rows) <= 10 and len(table.columns) <= 8 else 9)
    shape = slide.shapes.add_table(
        len(rows),
        len(table.columns),
        MARGIN,
        top,
        WIDTH - 2 * MARGIN,
        min(height, Inches(0.3) * len(rows)),
    )
    grid = shape.table
    for r, (texts, bolds, is_heading) in enumerate(rows):
        if is_heading and r > 0:
            grid.cell(r, 0).merge(grid.cell(r, len(table.columns) - 1))
        for c, text in enumerate(texts):
            if is_heading and r > 0 and c > 0:
                continue
            frame = grid.cell(r, c).text_frame
            frame.text = text
            font = frame.paragraphs[0].runs[0].font if frame.paragraphs[0].runs else None
            if font is not None:
                font.size, font.bold = size, bolds[c] or (is_heading and r == 0)
                font.italic = is_heading and r > 0
    return shape


def _footnotes(slide, table: Table, *, top: Emu) -> None:
    if not table.notes:
        return
    box = slide.shapes.add_textbox(MARGIN, top, WIDTH - 2 * MARGIN, HEIGHT - top - Inches(0.1))
    frame = box.text_frame
    frame.word_wrap = True
    for i, note in enumerate(table.notes):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = note
        paragraph.font.size = Pt(9)


def _table_slide(deck, title: str, table: Table, notes: list[str]) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    _title(slide, title)
    top = Inches(1.3)
    rows = 1 + sum(len(s.rows) + bool(s.title) for s in table.sections)
    add_table(slide, table, top=top, height=Inches(4.6))
    _footnotes(slide, table, top=min(Inches(5.6), top + Inches(0.42) * rows + Inches(0.1)))
    _notes(slide, [*notes, "", *table.notes])


def _picture_slide(deck, title: str, image: Path | None, notes: list[str]) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    _title(slide, title)
    area_w, area_h = WIDTH - 2 * MARGIN, HEIGHT - Inches(1.5)
    if image is None:
        box = slide.shapes.add_textbox(MARGIN, Inches(2), area_w, Inches(1))
        box.text_frame.text = "No complete trial yet: nothing to draw."
    else:
        picture = slide.shapes.add_picture(str(image), MARGIN, Inches(1.3), height=area_h)
        if picture.width > area_w:  # keep the aspect ratio, fit the width instead
            ratio = area_w / picture.width
            picture.width, picture.height = int(area_w), int(picture.height * ratio)
        picture.left = int((WIDTH - picture.width) / 2)
    _notes(slide, notes)


def _add_study(deck, slides: StudySlides) -> None:
    name = slides.name
    for title, table in slides.tables:
        _table_slide(deck, f"{name}: {title}", table, slides.provenance)
    for title, image in slides.figures:
        _picture_slide(deck, f"{name}: {title}", image, slides.provenance)


def write_deck(engine: Engine, studies: list[str], out: Path, *, split: str = "test") -> Path:
    """One title slide, then per study: table(s), confusion matrices, validation curves."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    title = deck.slides.add_slide(deck.slide_layouts[BLANK_TITLE])
    for shape in title.placeholders:  # the 4:3 template's boxes, widened to 16:9
        shape.left, shape.width = MARGIN, WIDTH - 2 * MARGIN
    title.shapes.title.text = "Ablation results"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    title.placeholders[1].text = f"{', '.join(studies)} · {split} split · {today}"
    with tempfile.TemporaryDirectory(prefix="ablate-deck-") as tmp:
        for study in studies:
            _add_study(deck, study_slides(engine, study, Path(tmp), split=split))
        out.parent.mkdir(parents=True, exist_ok=True)
        deck.save(str(out))  # pictures are embedded: the temporary files may go
    return out
