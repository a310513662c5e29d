"""The group-meeting deck: native (editable) PowerPoint tables, figures, provenance notes.

Every shape is placed with all four coordinates on the 16:9 slide (the default template is
4:3, and a placeholder left with inherited ones renders at top 0), and every table row gets
the height its wrapped text needs (see ``_layout``), so nothing overlaps in PowerPoint or in
LibreOffice.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pptx import Presentation
from pptx.enum.text import MSO_AUTO_SIZE
from pptx.util import Emu, Inches, Pt
from sqlalchemy import Engine

from ablate.report._cross import BaselineChoice
from ablate.report._layout import (
    TableLayout,
    notes_height,
    row_height,
    table_layout,
    wrapped_lines,
)
from ablate.report._model import Table
from ablate.report._slides import CROSS_TITLE, StudySlides, cross_table, study_slides

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.4)
CONTENT = WIDTH - 2 * MARGIN
TITLE_ONLY = 5
BLANK_TITLE = 0
TITLE_TOP, TITLE_HEIGHT = Inches(0.2), Inches(0.8)
TABLE_TOP = Inches(1.3)
BOTTOM = HEIGHT - Inches(0.2)
GAP = Inches(0.1)
NOTE_SIZE = 9  # pt
DESCRIPTION_SIZE = 14  # pt

Row = tuple[list[str], list[bool], bool]  # texts, bold per cell, is a heading row
Item = tuple[str, Row, bool]  # section title, body row, first row of its section


def _title(slide, text: str) -> None:
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = MARGIN, TITLE_TOP, CONTENT, TITLE_HEIGHT
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


def layout_of(table: Table) -> TableLayout:
    """One layout (font, column widths) for every slide of the table: all its rows at once."""
    rows = _page(table, _items(table))
    rows += [r for r in _page(table, _items(table)[-1:])[1:] if r[2]]  # '(continued)' title
    wrappable = tuple(not c.numeric for c in table.columns)
    return table_layout(
        [(texts, heading) for texts, _, heading in rows], CONTENT, wrappable=wrappable
    )


def _heights(layout: TableLayout, rows: list[Row]) -> list[int]:
    return [
        row_height(texts, layout.widths, layout.size, bold=r == 0, merged=heading and r > 0)
        for r, (texts, _, heading) in enumerate(rows)
    ]


def rows_height(layout: TableLayout, rows: list[Row]) -> int:
    return sum(_heights(layout, rows))


def footnotes_height(table: Table) -> int:
    return notes_height(table.notes, CONTENT, NOTE_SIZE)


def _fill(table: Table, layout: TableLayout, items: list[Item], room: int) -> list[list[Item]]:
    pages: list[list[Item]] = []
    for item in items:
        if pages and rows_height(layout, _page(table, [*pages[-1], item])) <= room:
            pages[-1].append(item)
        else:
            pages.append([item])
    return pages


def table_pages(table: Table, *, top: int = TABLE_TOP) -> tuple[list[list[Row]], bool]:
    """The table's rows cut into slides that fit below ``top`` (later slides: below
    TABLE_TOP), every slide repeating the header, with room for the footnotes kept on the
    last one. The flag says the footnotes need a slide of their own (too long to share)."""
    items = _items(table)
    if not items:
        return [[_header(table)]], False
    layout = layout_of(table)
    room_first, room = BOTTOM - top, BOTTOM - TABLE_TOP
    notes = footnotes_height(table) + GAP if table.notes else 0
    pages = _fill(table, layout, items, room_first)
    if len(pages) > 1:
        pages = [pages[0], *_fill(table, layout, [i for p in pages[1:] for i in p], room)]
    last_room = (room_first if len(pages) == 1 else room) - notes
    separate = False
    if rows_height(layout, _page(table, pages[-1])) > last_room:
        # the last slide gets the longest tail that leaves the footnotes their room
        tail = 0
        while tail < len(items) and (
            rows_height(layout, _page(table, items[len(items) - tail - 1 :])) <= last_room
        ):
            tail += 1
        if tail == 0:  # the footnotes alone fill a slide: they get one of their own
            separate = True
        else:
            head = _fill(table, layout, items[: len(items) - tail], room_first)
            if len(head) > 1:
                head = [head[0], *_fill(table, layout, [i for p in head[1:] for i in p], room)]
            pages = [*head, items[len(items) - tail :]]
    pages = _balanced(table, layout, items, pages, rooms=(room_first, room, notes)) or pages
    return [_page(table, page) for page in pages], separate


def _balanced(
    table: Table, layout: TableLayout, items: list[Item], pages: list[list[Item]],
    *, rooms: tuple[int, int, int],
) -> list[list[Item]] | None:  # fmt: skip
    """The same number of slides with the rows shared out evenly (instead of one row left
    alone on the first), if that fits; else None."""
    if len(pages) < 2:
        return None
    room_first, room, notes = rooms
    size = -(-len(items) // len(pages))
    even = [items[i : i + size] for i in range(0, len(items), size)]
    for number, page in enumerate(even):
        limit = room_first if number == 0 else room
        if number == len(even) - 1:
            limit -= notes
        if rows_height(layout, _page(table, page)) > limit:
            return None
    return even


def add_table(slide, table: Table, rows: list[Row], *, top: int, layout: TableLayout) -> object:
    """A native table of ``rows`` (see ``table_pages``) with ``table``'s columns."""
    n_columns = len(table.columns)
    size = Pt(layout.size)
    heights = _heights(layout, rows)
    shape = slide.shapes.add_table(len(rows), n_columns, MARGIN, top, CONTENT, sum(heights))
    grid = shape.table
    for c, width in enumerate(layout.widths):
        grid.columns[c].width = Emu(width)
    for r, height in enumerate(heights):
        grid.rows[r].height = Emu(height)
    for r, (texts, bolds, is_heading) in enumerate(rows):
        if is_heading and r > 0:
            grid.cell(r, 0).merge(grid.cell(r, n_columns - 1))
        for c, text in enumerate(texts):
            if is_heading and r > 0 and c > 0:
                continue
            frame = grid.cell(r, c).text_frame
            frame.text = text
            frame.word_wrap = True
            font = frame.paragraphs[0].runs[0].font if frame.paragraphs[0].runs else None
            if font is not None:
                font.size, font.bold = size, bolds[c] or (is_heading and r == 0)
                font.italic = is_heading and r > 0
    return shape


def _text_box(slide, lines: tuple[str, ...], *, top: int, height: int, size: int) -> None:
    box = slide.shapes.add_textbox(MARGIN, top, CONTENT, height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.auto_size = MSO_AUTO_SIZE.NONE
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.text = line
        paragraph.font.size = Pt(size)


def _description(slide, text: str) -> int:
    """The study's description under the title; returns where the content below may start."""
    if not text:
        return TABLE_TOP
    top = TITLE_TOP + TITLE_HEIGHT
    height = notes_height((text,), CONTENT, DESCRIPTION_SIZE)
    _text_box(slide, (text,), top=top, height=height, size=DESCRIPTION_SIZE)
    return max(TABLE_TOP, top + height + GAP)


def _table_slides(
    deck, title: str, table: Table, notes: list[str], *, description: str = ""
) -> None:
    """As many slides as the table needs (titled 1/n, 2/n…); footnotes under the last."""
    first_top = TABLE_TOP
    if description:
        height = notes_height((description,), CONTENT, DESCRIPTION_SIZE)
        first_top = max(TABLE_TOP, TITLE_TOP + TITLE_HEIGHT + height + GAP)
    pages, separate = table_pages(table, top=first_top)
    layout = layout_of(table)
    count = len(pages) + separate
    for number, rows in enumerate(pages, start=1):
        slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
        _title(slide, title if count == 1 else f"{title} ({number}/{count})")
        top = _description(slide, description) if number == 1 else TABLE_TOP
        add_table(slide, table, rows, top=top, layout=layout)
        if number == len(pages) and table.notes and not separate:
            below = top + rows_height(layout, rows) + GAP
            _text_box(
                slide, table.notes, top=below, height=footnotes_height(table), size=NOTE_SIZE
            )
        _notes(slide, [*notes, "", *table.notes])
    if separate:
        slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
        _title(slide, f"{title} ({count}/{count}, notes)")
        _text_box(slide, table.notes, top=TABLE_TOP, height=BOTTOM - TABLE_TOP, size=NOTE_SIZE)
        _notes(slide, notes)


def _picture_slide(deck, title: str, image: Path | None, notes: list[str]) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[TITLE_ONLY])
    _title(slide, title)
    area_w, area_h = CONTENT, BOTTOM - TABLE_TOP
    if image is None:
        _text_box(
            slide, ("No complete trial yet: nothing to draw.",), top=Inches(2),
            height=Inches(0.6), size=18,
        )  # fmt: skip
    else:
        picture = slide.shapes.add_picture(str(image), MARGIN, TABLE_TOP, height=area_h)
        if picture.width > area_w:  # keep the aspect ratio, fit the width instead
            ratio = area_w / picture.width
            picture.width, picture.height = int(area_w), int(picture.height * ratio)
        picture.left = int((WIDTH - picture.width) / 2)
    _notes(slide, notes)


def _add_study(deck, slides: StudySlides) -> None:
    name = slides.name
    description = slides.description
    for title, table in slides.tables:
        _table_slides(deck, f"{name}: {title}", table, slides.provenance, description=description)
        description = ""  # under the title of the study's first slide only
    for title, image in slides.figures:
        _picture_slide(deck, f"{name}: {title}", image, slides.provenance)


def _title_slide(deck, studies: list[str], split: str) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[BLANK_TITLE])
    title, subtitle = slide.shapes.title, slide.placeholders[1]
    # the 4:3 template's boxes: every coordinate set, or they render at top 0, height 0
    title.left, title.top, title.width, title.height = MARGIN, Inches(2.2), CONTENT, Inches(1.5)
    subtitle.left, subtitle.top = MARGIN, Inches(3.9)
    subtitle.width, subtitle.height = CONTENT, Inches(1.2)
    title.text = "Ablation results"
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    subtitle.text = f"{', '.join(studies)} · {split} split · {today}"
    lines = wrapped_lines(subtitle.text, (CONTENT - Inches(0.2)) / 12700, 24)
    subtitle.text_frame.word_wrap = True
    subtitle.text_frame.paragraphs[0].font.size = Pt(24 if lines <= 2 else 16)


def write_deck(
    engine: Engine, studies: list[str], out: Path, *, split: str = "test",
    baseline: BaselineChoice | None = None,
) -> Path:  # fmt: skip
    """One title slide, with several grid studies one table across them (compared with
    ``baseline``), then per study: table(s), confusion matrices, validation curves."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    _title_slide(deck, studies, split)
    across = cross_table(engine, studies, split=split, baseline=baseline)
    if across is not None:
        _table_slides(deck, CROSS_TITLE, across, [f"Studies: {', '.join(studies)}"])
    with tempfile.TemporaryDirectory(prefix="ablate-deck-") as tmp:
        for study in studies:
            _add_study(deck, study_slides(engine, study, Path(tmp), split=split))
        out.parent.mkdir(parents=True, exist_ok=True)
        deck.save(str(out))  # pictures are embedded: the temporary files may go
    return out
