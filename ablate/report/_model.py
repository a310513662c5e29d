"""The one intermediate table that every format renders (terminal, markdown, LaTeX, CSV, HTML,
PowerPoint), so that a number reads the same on the slide as in the paper."""

from __future__ import annotations

from dataclasses import dataclass, field

Number = float | int | str | None


@dataclass(frozen=True)
class Column:
    """A displayed column; ``csv_fields`` are the plain-number columns it becomes in CSV."""

    key: str
    title: str
    csv_fields: tuple[str, ...]
    numeric: bool = True


@dataclass(frozen=True)
class Cell:
    """One displayed value: its text (identical in every format) and its plain numbers."""

    text: str
    numbers: tuple[Number, ...] = ()
    bold: bool = False

    @staticmethod
    def plain(text: str) -> Cell:
        return Cell(text, (text,))


@dataclass(frozen=True)
class Section:
    """A block of rows. ``title`` is shown above it (e.g. 'Reported (not measured here)')."""

    rows: tuple[tuple[Cell, ...], ...]
    title: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[Column, ...]
    sections: tuple[Section, ...]
    footnotes: tuple[str, ...] = ()
    legend: tuple[str, ...] = field(default=())

    @property
    def notes(self) -> tuple[str, ...]:
        """Legend lines (how to read the table), then footnotes (what is missing and why)."""
        return self.legend + self.footnotes

    def texts(self) -> list[list[str]]:
        """Header then every row's cell texts (section titles excluded): what a reader sees."""
        out = [[c.title for c in self.columns]]
        for section in self.sections:
            out.extend([cell.text for cell in row] for row in section.rows)
        return out
