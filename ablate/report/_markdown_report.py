"""The deck's content as markdown plus image files (for a wiki, a README, or git)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from ablate.report._cross import BaselineChoice
from ablate.report._render import to_markdown
from ablate.report._slides import CROSS_TITLE, cross_table, study_slides


def write_markdown_report(
    engine: Engine, studies: list[str], out: Path, *, split: str = "test",
    baseline: BaselineChoice | None = None,
) -> Path:  # fmt: skip
    """``out`` (e.g. meeting.md) and its figures in ``<stem>_files/`` next to it; with
    several grid studies one table across them first."""
    images = out.parent / f"{out.stem}_files"
    parts = ["# Ablation results", ""]
    across = cross_table(engine, studies, split=split, baseline=baseline)
    if across is not None:
        parts += [f"## {CROSS_TITLE.capitalize()}", "", to_markdown(across), ""]
    for study in studies:
        slides = study_slides(engine, study, images, split=split)
        parts += [f"## {study}", ""]
        if slides.description:
            parts += [slides.description, ""]
        for _title, table in slides.tables:
            parts += [to_markdown(table), ""]
        for title, image in slides.figures:
            if image is not None:
                parts += [f"![{study}: {title}]({images.name}/{image.name})", ""]
        parts += ["<details><summary>Provenance</summary>", ""]
        parts += [f"- {line}" for line in slides.provenance] + ["", "</details>", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
