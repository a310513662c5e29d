"""Formatters: each renders the same ``Table`` model, cell texts unchanged."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from typing import Any

from ablate.errors import UsageError
from ablate.report._model import Cell, Column, Table

FORMATS = ("rich", "markdown", "latex", "csv", "html")


# --- markdown ---------------------------------------------------------------------------


def _md_cell(cell: Cell) -> str:
    text = cell.text.replace("|", "\\|")
    return f"**{text}**" if cell.bold and text else text


def _md_rows(table: Table, rows: tuple[tuple[Cell, ...], ...]) -> list[str]:
    align = ["---:" if c.numeric else ":---" for c in table.columns]
    lines = [
        "| " + " | ".join(c.title.replace("|", "\\|") for c in table.columns) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows)
    return lines


def to_markdown(table: Table) -> str:
    lines = [f"**{table.title}**", ""]
    for index, section in enumerate(table.sections):
        if section.title:
            lines += [f"*{section.title}*", ""]
        lines += _md_rows(table, section.rows)
        if index < len(table.sections) - 1:
            lines.append("")
    if table.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in table.notes)
    return "\n".join(lines) + "\n"


# --- LaTeX (booktabs) -------------------------------------------------------------------

_LATEX_CHARS = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "—": "---", "–": "--", "Δ": r"$\Delta$", "†": r"$^\dagger$",
    "≥": r"$\geq$", "≤": r"$\leq$", "<": r"$<$", ">": r"$>$", "…": r"\ldots{}",
    "×": r"$\times$", "·": r"$\cdot$", "α": r"$\alpha$", "|": r"$|$",
}  # fmt: skip
_LATEX_PATTERN = re.compile("|".join(re.escape(k) for k in _LATEX_CHARS))


def latex_escape(text: str) -> str:
    return _LATEX_PATTERN.sub(lambda m: _LATEX_CHARS[m.group(0)], text)


def _tex_cell(cell: Cell) -> str:
    text = latex_escape(cell.text)
    return rf"\textbf{{{text}}}" if cell.bold and text else text


def to_latex(table: Table, *, standalone: bool = False) -> str:
    """A booktabs ``table`` float (needs booktabs and graphicx); ``standalone`` adds a preamble."""
    spec = "".join("r" if c.numeric else "l" for c in table.columns)
    width = len(table.columns)
    body = [r"\toprule", " & ".join(latex_escape(c.title) for c in table.columns) + r" \\"]
    for section in table.sections:
        body.append(r"\midrule")
        if section.title:
            title = latex_escape(section.title)
            body.append(rf"\multicolumn{{{width}}}{{l}}{{\textit{{{title}}}}} \\")
        body.extend(" & ".join(_tex_cell(c) for c in row) + r" \\" for row in section.rows)
    body.append(r"\bottomrule")
    tabular = [rf"\begin{{tabular}}{{{spec}}}", *body, r"\end{tabular}"]
    if width > 6:  # wide ablation tables: shrink to the text width rather than overflow
        tabular = [r"\resizebox{\linewidth}{!}{%", *tabular, "}"]
    lines = [
        "% ablate table; needs \\usepackage{booktabs} and \\usepackage{graphicx}",
        r"\begin{table}[ht]",
        r"\centering",
        rf"\caption{{{latex_escape(table.title)}}}",
        *tabular,
    ]
    if table.notes:
        lines += [r"\par\smallskip", r"\begin{minipage}{\linewidth}\footnotesize"]
        lines += [latex_escape(note) + r"\par" for note in table.notes]
        lines.append(r"\end{minipage}")
    lines.append(r"\end{table}")
    text = "\n".join(lines) + "\n"
    if standalone:
        text = (
            "\\documentclass{article}\n\\usepackage{booktabs}\n"
            "\\usepackage{graphicx}\n\\usepackage[margin=2cm]{geometry}\n"
            f"\\begin{{document}}\n{text}\\end{{document}}\n"
        )
    return text


# --- CSV (plain numbers) ----------------------------------------------------------------


def _csv_value(value: Any) -> Any:
    return "" if value is None else value


def to_csv(table: Table) -> str:
    """Plain numbers: mean and std in separate columns, p-values unrounded, a section column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", *(f for c in table.columns for f in c.csv_fields)])
    for section in table.sections:
        name = section.title or "measured"
        for row in section.rows:
            values: list[Any] = []
            for column, cell in zip(table.columns, row, strict=True):
                numbers = cell.numbers or (cell.text,)
                numbers = (tuple(numbers) + (None,) * len(column.csv_fields))[
                    : len(column.csv_fields)
                ]
                values.extend(_csv_value(v) for v in numbers)
            writer.writerow([name, *values])
    return out.getvalue()


# --- HTML -------------------------------------------------------------------------------


def _th(column: Column) -> str:
    return f'<th style="text-align:{"right" if column.numeric else "left"}">' + (
        html.escape(column.title) + "</th>"
    )


def to_html(table: Table) -> str:
    lines = ['<table class="ablate-table">', f"<caption>{html.escape(table.title)}</caption>"]
    lines.append("<thead><tr>" + "".join(_th(c) for c in table.columns) + "</tr></thead>")
    for section in table.sections:
        lines.append("<tbody>")
        if section.title:
            lines.append(
                f'<tr><th colspan="{len(table.columns)}" style="text-align:left">'
                f"<em>{html.escape(section.title)}</em></th></tr>"
            )
        for row in section.rows:
            cells = []
            for column, cell in zip(table.columns, row, strict=True):
                text = html.escape(cell.text)
                text = f"<strong>{text}</strong>" if cell.bold and text else text
                cells.append(
                    f'<td style="text-align:{"right" if column.numeric else "left"}">{text}</td>'
                )
            lines.append("<tr>" + "".join(cells) + "</tr>")
        lines.append("</tbody>")
    lines.append("</table>")
    if table.notes:
        lines.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in table.notes) + "</ul>")
    return "\n".join(lines) + "\n"


# --- rich (terminal) --------------------------------------------------------------------


def to_rich(table: Table) -> Any:
    """A ``rich.table.Table`` (the CLI prints it); notes go in its caption."""
    from rich.table import Table as RichTable
    from rich.text import Text

    out = RichTable(
        title=table.title, caption="\n".join(table.notes) or None, caption_justify="left"
    )
    for column in table.columns:
        out.add_column(column.title, justify="right" if column.numeric else "left")
    for index, section in enumerate(table.sections):
        if section.title:
            out.add_row(Text(section.title, style="italic"), *[""] * (len(table.columns) - 1))
        for r, row in enumerate(section.rows):
            last = r == len(section.rows) - 1 and index < len(table.sections) - 1
            out.add_row(
                *[Text(c.text, style="bold" if c.bold else "") for c in row], end_section=last
            )
    return out


_TEXT_FORMATS: dict[str, Callable[[Table], str]] = {
    "markdown": to_markdown,
    "latex": to_latex,
    "csv": to_csv,
    "html": to_html,
}


def render(table: Table, fmt: str) -> str:
    """The table as text in ``fmt`` (markdown, latex, csv, html; rich is printed by the CLI)."""
    if fmt not in _TEXT_FORMATS:
        raise UsageError(
            f"Unknown table format '{fmt}'; use one of: {', '.join(_TEXT_FORMATS)} "
            "(or 'rich' on the terminal)."
        )
    return _TEXT_FORMATS[fmt](table)
