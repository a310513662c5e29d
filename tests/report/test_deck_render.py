"""The deck as LibreOffice renders it: on every page no two text blocks overlap and nothing
lies outside the page (pdftotext's block boxes of the converted PDF)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from ablate.db import make_engine
from ablate.report import write_deck
from tests.conftest import require

FUSIONS = ["concat", "sum", "max", "gated", "difference", "product", "concat_diff_prod",
           "cross_attention", "channel_exchange", "dual"]  # fmt: skip
Box = tuple[float, float, float, float]
BLOCK = re.compile(
    r'<block xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" yMax="([-\d.]+)">(.*?)</block>',
    re.S,
)


def _pages(pdf: Path) -> list[tuple[float, float, list[tuple[Box, str]]]]:
    xml = subprocess.run(
        ["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', xml, re.S):
        blocks = [
            (
                tuple(float(b[i]) for i in range(1, 5)),
                " ".join(re.findall(r">([^<]*)</word>", b[5])),
            )
            for b in BLOCK.finditer(page[3])
        ]
        pages.append((float(page[1]), float(page[2]), blocks))
    return pages


def _problems(pdf: Path) -> list[str]:
    found = []
    for number, (width, height, blocks) in enumerate(_pages(pdf), start=1):
        for i, ((x0, y0, x1, y1), text) in enumerate(blocks):
            if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                found.append(f"page {number}: '{text[:40]}' lies outside the page")
            for (u0, v0, u1, v1), other in blocks[i + 1 :]:
                if min(x1, u1) - max(x0, u0) > 0.5 and min(y1, v1) - max(y0, v0) > 0.5:
                    found.append(f"page {number}: '{text[:40]}' overlaps '{other[:40]}'")
    return found


def _ten_cells(fakes: SimpleNamespace, tmp_path: Path):
    spec = fakes.fusion_spec(
        grid={"model.fusion": FUSIONS},
        description="Which fusion operator beats concat? Ten operators, three seeds each.",
    )
    trials = [
        fakes.FakeTrial({"model.fusion": "dual"}, 2, state="failed", error="x\nValueError: NaN")
    ]
    for i, fusion in enumerate(FUSIONS):
        for seed in range(3):
            accuracy = 0.6 + 0.01 * i + 0.003 * seed + 0.002 * (seed == i % 3)
            trials.append(fakes.FakeTrial({"model.fusion": fusion}, seed, accuracy=accuracy,
                                          kappa=accuracy - 0.1, n_params=11_690_000 + i,
                                          flops=1.82e9))  # fmt: skip
    return make_engine(fakes.build_db(tmp_path / "ten.sqlite", spec, trials), create=False)


@pytest.mark.slow
def test_rendered_decks_have_no_overlaps(
    fakes: SimpleNamespace, fusion_engine, search_engine, tmp_path: Path
) -> None:
    soffice = shutil.which("soffice")
    require(soffice is not None and shutil.which("pdftotext") is not None,
            "LibreOffice (soffice) and poppler-utils (pdftotext) are needed")  # fmt: skip
    decks = [
        write_deck(fusion_engine, ["fusion"], tmp_path / "fusion.pptx"),
        write_deck(search_engine, ["loss_weights"], tmp_path / "search.pptx"),
        write_deck(_ten_cells(fakes, tmp_path), ["fusion"], tmp_path / "ten.pptx"),
    ]
    run = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{tmp_path}/lo", "--headless",
         "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, decks)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    for deck in decks:
        pdf = deck.with_suffix(".pdf")
        assert _problems(pdf) == [], pdf.name
    words = {w for _, _, blocks in _pages(tmp_path / "search.pdf") for _, t in blocks
             for w in t.split()}  # fmt: skip
    assert "deep_supervision" in words  # a header word is never broken across lines
    titles = [blocks[0][1] for _, _, blocks in _pages(tmp_path / "ten.pdf") if blocks]
    assert titles[0].startswith("Ablation results")
