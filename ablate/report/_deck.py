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
ROW = Inches(0.3)  # every table row; 9-12 pt text with the cell margins fits in it
TABLE_TOP = Inches(1.3)
BOTTOM = HEIGHT - Inches(0.2)
NOTE_LINE = Inches(0.19)  # a 9 pt footnote line
NOTE_CHARS = 190  # characters of 9 pt text per line across the slide

Row = tuple[list[str], list[bool], bool]  # texts, bold per cell, is a heading row
Item = tuple[str, Row, bool]  # section title, body row, first row of its section


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


def _items(table: Table) -> list[Item]:
    return [
        (section.title, ([c.text for c in r], [c.bold for c in r], False), i == 0)
        for section in table.sections
        for i, r in enumerate(section.rows)
    ]


def _header(table: Table) -> Row:
    return ([c.title for c in table.columns], [True] * len(table.columns), True)


def _page(table: Table, items: list[Item]) -> list[Row]:
    """One slide's rows: the header, then the items, each section's title above its first
    row (or above its first row on this slide, marked continued)."""
    rows = [_header(table)]
    for index, (title, row, first) in enumerate(items):
        if title and (first or index == 0):
            text = title if first else f"{title} (continued)"
            rows.append(([text, *[""] * (len(table.columns) - 1)], [False] * len(row[0]), True))
        rows.append(row)
    return rows


def _fill(table: Table, items: list[Item], capacity: int) -> list[list[Item]]:
    pages: list[list[Item]] = []
    for item in items:
        if pages and len(_page(table, [*pages[-1], item])) <= capacity:
            pages[-1].append(item)
        else:
            pages.append([item])
    return pages


def _notes_height(table: Table) -> Emu:
    lines = sum(max(1, -(-len(note) // NOTE_CHARS)) for note in table.notes)
    return Emu(NOTE_LINE * lines + Inches(0.1)) if lines else Emu(0)


def table_pages(table: Table) -> list[list[Row]]:
    """The table's rows cut into slides that fit, with the room for the footnotes kept on the
    last one. Every slide repeats the header."""
    items = _items(table)
    if not items:
        return [[_header(table)]]
    fits = int((BOTTOM - TABLE_TOP) // ROW)
    fits_last = max(3, int((BOTTOM - TABLE_TOP - _notes_height(table)) // ROW))
    pages = _fill(table, items, fits)
    if len(_page(table, pages[-1])) > fits_last:  # the last slide gets the longest tail that
        tail = 1  # leaves the footnotes their room
        while tail < len(items) and len(_page(table, items[-tail - 1 :])) <= fits_last:
            tail += 1
        pages = [*_fill(table, items[:-tail], fits), items[-tail:]]
    return [_page(table, page) for page in pages]


def add_table(slide, table: Table, rows: list[Row], *, top: Emu) -> object:
    """A native table of ``rows`` (see ``table_pages``) with ``table``'s columns."""
    n_columns = len(table.columns)
    size = Pt(12 if len(rows) <= 10 and n_columns <= 8 else 9)
    shape = slide.shapes.add_table(
        len(rows), n_columns, MARGIN, top, WIDTH - 2 * MARGIN, ROW * len(rows)
    )
    grid = shape.table
    for r, (texts, bolds, is_heading) in enumerate(rows):
        if is_heading and r > 0:
            grid.cell(r, 0).merge(grid.cell(r, n_columns - 1))
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
    box = slide.shapes.add_textbox(MARGIN, top, WIDTH - 2 * MARGIN, BOTTOM - top)
    frame = box.text_frame
    frame.word_wrap = True
    for i, note in enumerate(table.notes):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = note
        paragraph.font.size = Pt(9)


def _table_slides(deck, title: str, table: Table, notes: list[str]) -> None:
    """As many slides as the table needs (titled 1/n, 2/n…); footnotes under the last."""
    pages = table_pages(table)
    for number, rows in enumerate(pages, start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
        _title(slide, title if len(pages) == 1 else f"{title} ({number}/{len(pages)})")
        add_table(slide, table, rows, top=TABLE_TOP)
        if number == len(pages):
            _footnotes(slide, table, top=Emu(TABLE_TOP + ROW * len(rows) + Inches(0.1)))
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
        _table_slides(deck, f"{name}: {title}", table, slides.provenance)
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
