"""A study's rows as files for pandas users: CSV always, Parquet with pyarrow installed."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ablate.db import EXPORT_TABLES, export_rows, get_study
from ablate.errors import UsageError

EXPORT_FORMATS = ("csv", "parquet")


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
    paths = []
    for table in EXPORT_TABLES:
        columns, rows = export_rows(engine, study, table)
        path = out_dir / f"{study}_{table}.{fmt}"
        write(path, columns, rows)
        paths.append(path)
    return paths
