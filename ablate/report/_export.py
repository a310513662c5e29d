"""A study's rows as files for pandas users: CSV always, Parquet with pyarrow installed.

Units: the stored columns (``accuracy``, ``kappa``, ``macro_f1``, ``val_accuracy``) are
fractions 0..1, as in the database; each has a ``*_pct`` twin in percent, the unit of the
tables. The trials and results files have one column per grid factor (its dotted path, e.g.
``model.fusion``), and trials say whether a run belongs to the study's current version (the
runs its tables show).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db import EXPORT_TABLES, export_rows, get_study
from ablate.errors import UsageError
from ablate.report._collect import load_study_data

EXPORT_FORMATS = ("csv", "parquet")
_PERCENT = {  # file → fraction columns that get a percent twin
    "results": ("accuracy", "kappa", "macro_f1"),
    "class_metrics": ("accuracy",),
    "epochs": ("val_accuracy",),
}
Rows = list[tuple[Any, ...]]


def _with_percent(table: str, columns: list[str], rows: Rows) -> tuple[list[str], Rows]:
    fractions = [columns.index(c) for c in _PERCENT.get(table, ()) if c in columns]
    if not fractions:
        return columns, rows
    names = [*columns, *(f"{columns[i]}_pct" for i in fractions)]
    out = [
        (*row, *(None if row[i] is None else 100.0 * row[i] for i in fractions)) for row in rows
    ]
    return names, out


def _with_factors(
    columns: list[str], rows: Rows, factors: tuple[str, ...], cells: dict[int, dict[str, Any]],
    key: str,
) -> tuple[list[str], Rows]:  # fmt: skip
    """One column per grid factor after ``key`` (the trial id), from the trial's cell."""
    at = columns.index(key) + 1
    names = [*columns[:at], *factors, *columns[at:]]
    out = [
        (*row[:at], *(cells.get(row[at - 1], {}).get(f) for f in factors), *row[at:])
        for row in rows
    ]
    return names, out


def _plain(value: Any) -> Any:
    """JSON columns (cell, params, config) as JSON text; datetimes as ISO 8601."""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _write_csv(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([_plain(v) if v is not None else "" for v in row] for row in rows)


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise UsageError(
            "Parquet export needs pyarrow, which is not installed; run "
            "pip install 'ablate[parquet]' (or use --format csv)."
        ) from None


def _write_parquet(path: Path, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = {name: [_plain(row[i]) for row in rows] for i, name in enumerate(columns)}
    pq.write_table(pa.table(data), path)


def export_study(engine: Engine, study: str, out_dir: Path, *, fmt: str = "csv") -> list[Path]:
    """trials, results, class_metrics, confusion, epochs, epoch_metrics: one file each."""
    if fmt not in EXPORT_FORMATS:
        raise UsageError(
            f"Unknown export format '{fmt}'; use one of: {', '.join(EXPORT_FORMATS)}."
        )
    if fmt == "parquet":
        _require_pyarrow()  # before any file is written
    get_study(engine, study)  # unknown study: NotFoundError before creating the folder
    out_dir.mkdir(parents=True, exist_ok=True)
    write = _write_csv if fmt == "csv" else _write_parquet
    data = load_study_data(engine, study)
    current = {t.id for t in data.trials}
    trial_columns, trial_rows = export_rows(engine, study, "trials")
    ids, cell_at = trial_columns.index("id"), trial_columns.index("cell")
    cells = {row[ids]: row[cell_at] or {} for row in trial_rows}
    paths = []
    for table in EXPORT_TABLES:
        columns, rows = (
            (trial_columns, trial_rows) if table == "trials" else export_rows(engine, study, table)
        )
        if table == "trials":
            columns = [*columns, "current_version"]
            rows = [(*row, row[ids] in current) for row in rows]
            columns, rows = _with_factors(columns, rows, data.factors, cells, "id")
        elif table == "results":
            columns, rows = _with_factors(columns, rows, data.factors, cells, "trial_id")
        columns, rows = _with_percent(table, columns, rows)
        path = out_dir / f"{study}_{table}.{fmt}"
        write(path, columns, rows)
        paths.append(path)
    return paths
