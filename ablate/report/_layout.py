"""Text geometry for the deck: how wide a string is, how many lines it wraps to, and the
column widths and row heights of a native table, so that nothing on a slide overlaps.

PowerPoint and LibreOffice grow a table row to fit its text but never move the shapes below
it, so the deck must know each row's rendered height in advance. The estimates are for DejaVu
Sans (LibreOffice's fallback for the template's Calibri, and wider than it), so they hold in
both programs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EMU_PER_PT = 12700
EMU_PER_INCH = 914400
CELL_MARGIN_X = EMU_PER_INCH // 10  # python-pptx's default cell margins: 0.1 in left/right
CELL_MARGIN_Y = EMU_PER_INCH // 20  # and 0.05 in top/bottom
LINE = 1.25  # line height per point of font size
FONT_SIZES = (12, 10, 9)  # the largest at which the table fits the slide's width
SAFETY = 1.12  # LibreOffice breaks lines a little before the advances add up to the width
_NARROW = set("ilj.,:;|!'()[]{}/ ")
_WIDE = set("mwMW@%")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Estimated width in points (DejaVu Sans advances, rounded up)."""
    em = 0.0
    for char in text:
        if char in _NARROW:
            em += 0.36
        elif char in _WIDE or char == "±":
            em += 0.92
        elif char.isdigit():
            em += 0.64
        elif char.isupper():
            em += 0.74
        else:
            em += 0.62
    return em * size * SAFETY * (1.08 if bold else 1.0)


def wrapped_lines(text: str, width: float, size: float, *, bold: bool = False) -> int:
    """Lines ``text`` takes in ``width`` points, wrapping at spaces (a word longer than the
    line is broken, as both programs do)."""
    lines, used = 1, 0.0
    width += 0.01  # a text exactly as wide as the line fits (float sums of its words)
    space = text_width(" ", size, bold=bold)
    for paragraph_index, paragraph in enumerate(text.split("\n")):
        if paragraph_index:
            lines, used = lines + 1, 0.0
        for word in paragraph.split(" "):
            w = text_width(word, size, bold=bold)
            if used and used + space + w > width:
                lines, used = lines + 1, 0.0
            used = used + space + w if used else w
            while used > width:  # a word wider than the line
                lines, used = lines + 1, used - width
    return lines


def longest_word(text: str, size: float, *, bold: bool = False) -> float:
    return max((text_width(w, size, bold=bold) for w in text.split()), default=0.0)


@dataclass(frozen=True)
class TableLayout:
    """A table's font size (pt), column widths and the height of each row (EMU)."""

    size: int
    widths: tuple[int, ...]
    heights: tuple[int, ...]

    @property
    def height(self) -> int:
        return sum(self.heights)


def _inner(width: int) -> float:
    return (width - 2 * CELL_MARGIN_X) / EMU_PER_PT


def row_height(
    texts: list[str], widths: tuple[int, ...], size: int, *, bold: bool, merged: bool
) -> int:
    if merged:  # a section title across the whole table
        lines = wrapped_lines(texts[0], _inner(sum(widths)), size, bold=bold)
    else:
        lines = max(
            (
                wrapped_lines(t, _inner(w), size, bold=bold)
                for t, w in zip(texts, widths, strict=True)
            ),
            default=1,
        )
    return math.ceil(lines * LINE * size * EMU_PER_PT) + 2 * CELL_MARGIN_Y


def _share(base: list[float], target: list[float], total: int) -> tuple[int, ...]:
    """``base`` widths grown towards ``target`` with what is left of ``total``."""
    if sum(target) <= total:  # everything fits: the rest in proportion to the widths
        spare = total - sum(target)
        widths = [t + spare * t / sum(target) for t in target]
    else:
        short = [t - b for t, b in zip(target, base, strict=True)]
        spare = total - sum(base)
        widths = [b + spare * s / (sum(short) or 1) for b, s in zip(base, short, strict=True)]
    out = [int(w) for w in widths]
    out[-1] += total - sum(out)
    return tuple(out)


def column_widths(
    header: list[str],
    body: list[list[str]],
    total: int,
    size: int,
    *,
    wrap: tuple[bool, ...] = (),
) -> tuple[int, ...] | None:
    """Widths that keep every body cell on one line (in the columns ``wrap`` marks: every word
    of it unbroken) and every header word unbroken, the rest of ``total`` going to the cells that
    would otherwise wrap; None if they do not fit."""
    pad = 2 * CELL_MARGIN_X
    need, ideal = [], []
    for c, title in enumerate(header):
        texts = [r[c] for r in body if c < len(r)]
        line = max((text_width(t, size) for t in texts), default=0.0)
        word = max((longest_word(t, size) for t in texts), default=0.0)
        head = text_width(title, size, bold=True)
        wraps = c < len(wrap) and wrap[c]
        minimum = max(word if wraps else line, longest_word(title, size, bold=True))
        need.append(minimum * EMU_PER_PT + pad)
        ideal.append(max(minimum, line, head) * EMU_PER_PT + pad)
    if sum(need) > total:
        return None
    return _share(need, ideal, total)


def table_layout(
    rows: list[tuple[list[str], bool]], total: int, *, wrappable: tuple[bool, ...] = ()
) -> TableLayout:
    """``rows``: (texts, is a section title), the header first; ``wrappable``: the columns
    whose cells may wrap (labels, not numbers) when the table does not fit otherwise."""
    header, body = rows[0][0], [texts for texts, heading in rows[1:] if not heading]
    everything = tuple(True for _ in header)
    attempts = [(size, ()) for size in FONT_SIZES]
    attempts += [(FONT_SIZES[-1], wrappable), (FONT_SIZES[-1], everything)]
    for size, wrap in attempts:  # the largest font at which no cell wraps, then labels wrap
        widths = column_widths(header, body, total, size, wrap=wrap)
        if widths is not None:
            break
    else:  # words too long even then: equal columns, long words broken
        widths = tuple([total // len(header)] * len(header))
    heights = tuple(
        row_height(texts, widths, size, bold=index == 0, merged=heading and index > 0)
        for index, (texts, heading) in enumerate(rows)
    )
    return TableLayout(size, widths, heights)


def notes_height(notes: tuple[str, ...], width: int, size: float) -> int:
    """Height of footnote paragraphs at ``size`` pt in a text box ``width`` wide."""
    inner = (width - 2 * CELL_MARGIN_X) / EMU_PER_PT
    lines = sum(wrapped_lines(note, inner, size) for note in notes)
    return math.ceil(lines * LINE * size * EMU_PER_PT) + 2 * CELL_MARGIN_Y if lines else 0
