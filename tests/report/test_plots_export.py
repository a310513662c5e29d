"""Figures (files at slide resolution), search tables and exports."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from ablate.errors import UsageError
from ablate.report import (
    export_study,
    param_importances,
    plot,
    search_table,
)


@pytest.mark.parametrize("kind", ["confusion", "curves"])
def test_grid_figures(fusion_engine: Engine, tmp_path: Path, kind: str) -> None:
    paths = plot(kind, fusion_engine, "fusion", out_dir=tmp_path, fmt="png")
    assert paths and all(p.stat().st_size > 10_000 for p in paths)
    pdf = plot(kind, fusion_engine, "fusion", out_dir=tmp_path, cells=("fusion=sum",), fmt="pdf")
    assert pdf[0].suffix == ".pdf"


def test_confusion_one_file_per_cell(fusion_engine: Engine, tmp_path: Path) -> None:
    paths = plot("confusion", fusion_engine, "fusion", out_dir=tmp_path)
    assert [p.name for p in paths] == [
        "fusion_confusion_fusion=concat.png",
        "fusion_confusion_fusion=sum.png",
        "fusion_confusion_fusion=max.png",
    ]


def test_unknown_cell_filter(fusion_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="did you mean 'fusion'"):
        plot("curves", fusion_engine, "fusion", out_dir=tmp_path, cells=("fusoin=sum",))


def test_search_figures_table_and_importance(search_engine: Engine, tmp_path: Path) -> None:
    for kind in ("weights", "importance"):
        assert plot(kind, search_engine, "loss_weights", out_dir=tmp_path)
    table = search_table(search_engine, "loss_weights", top=3)
    rows = [[c.text for c in r] for r in table.sections[0].rows]
    assert [r[2] for r in rows] == ["0.9", "0.8", "0.7"]  # deep_supervision of the best three
    assert rows[0][5] == f"{100 * (0.60 + 0.09 + 0.0001):.2f}"
    assert "Pruned, not ranked (1 run): trial 7 (seed 0) (pruned at epoch 2)." in table.notes
    importances = param_importances(search_engine, "loss_weights")
    assert next(iter(importances)) == "loss.deep_supervision"
    assert math.isclose(sum(importances.values()), 1.0, rel_tol=1e-6)


def test_csv_export(fusion_engine: Engine, tmp_path: Path) -> None:
    paths = export_study(fusion_engine, "fusion", tmp_path)
    names = sorted(p.name for p in paths)
    assert "fusion_trials.csv" in names and "fusion_confusion.csv" in names
    with (tmp_path / "fusion_trials.csv").open() as handle:
        trials = list(csv.DictReader(handle))
    assert len(trials) == 10 and {t["state"] for t in trials} == {"complete", "failed"}
    with (tmp_path / "fusion_confusion.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 8 * 2 * 81  # complete × splits × 9×9


def test_parquet_without_pyarrow_says_how_to_install(
    fusion_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow now raises ImportError
    with pytest.raises(UsageError, match=r"pip install 'ablate\[parquet\]'"):
        export_study(fusion_engine, "fusion", tmp_path / "p", fmt="parquet")
    assert not (tmp_path / "p").exists()


def test_parquet_export_holds_what_the_csv_export_holds(
    fusion_engine: Engine, tmp_path: Path
) -> None:
    parquet = pytest.importorskip("pyarrow.parquet")  # in the test extra, so CI runs this
    csv_paths = export_study(fusion_engine, "fusion", tmp_path / "csv")
    parquet_paths = export_study(fusion_engine, "fusion", tmp_path / "pq", fmt="parquet")
    assert [p.stem for p in parquet_paths] == [p.stem for p in csv_paths]
    for csv_path, parquet_path in zip(csv_paths, parquet_paths, strict=True):
        with csv_path.open(newline="", encoding="utf-8") as handle:
            expected = list(csv.reader(handle))
        table = parquet.read_table(parquet_path)
        assert table.column_names == expected[0], parquet_path.name
        rows = [["" if v is None else str(v) for v in row.values()] for row in table.to_pylist()]
        assert rows == expected[1:], parquet_path.name
    trials = parquet.read_table(tmp_path / "pq" / "fusion_trials.parquet")
    assert trials.num_rows == 10
    assert str(trials.schema.field("seed").type) == "int64"  # typed, not text
