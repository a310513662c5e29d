"""The yardstick: a per-line visit parser in the style of the URFC competition code.

It loops over lines and splits on '\\t', ',', '&' and '|', and uses ``datetime`` for the weekday
and the week, as the public competition kernels do. It applies the same rules as
``ablate.data.visits`` (one count per (line, date, hour); a line with a problem is left out and
reported with the first problem found), so the tests can demand identical output.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np

from ablate.data.visits import LINE_FORMAT, VisitProblem

START = datetime(2018, 10, 1)
USER = re.compile(r"[0-9a-f]{16}")
DATE = re.compile(r"[0-9]{8}")
HOUR = re.compile(r"[0-9]{2}")


def parse_line(line: str) -> tuple[set[tuple[int, int, int]], str | None]:
    """The (day_of_week, week, hour) cells of one line, or the reason it is rejected."""
    parts = line.split("\t")
    if len(parts) != 2 or not USER.fullmatch(parts[0]):
        return set(), f"line does not parse as {LINE_FORMAT}"
    groups = []
    for group in parts[1].split(","):
        date_hours = group.split("&")
        if len(date_hours) != 2 or not DATE.fullmatch(date_hours[0]):
            return set(), f"line does not parse as {LINE_FORMAT}"
        hours = date_hours[1].split("|")
        if not all(HOUR.fullmatch(h) for h in hours):
            return set(), f"line does not parse as {LINE_FORMAT}"
        groups.append((date_hours[0], hours))
    cells = set()
    for date_text, hours in groups:
        try:
            day = datetime.strptime(date_text, "%Y%m%d")
        except ValueError:
            day = None
        days = (day - START).days if day is not None else -1
        if not 0 <= days < 182:
            return set(), f"date {int(date_text)} outside 2018-10-01…2019-03-31"
        for hour_text in hours:
            hour = int(hour_text)
            if hour > 23:
                return set(), f"hour {hour:02d} outside 00–23"
            cells.add((day.weekday(), days // 7, hour))
    return cells, None


def parse_file(path: Path, name: str | None = None) -> tuple[np.ndarray, list[VisitProblem]]:
    """Counts (7, 26, 24) for one file and its problems."""
    name = str(path) if name is None else name
    counts = np.zeros((7, 26, 24), dtype=np.int64)
    problems = []
    with open(path, encoding="latin-1", newline="") as handle:
        text = handle.read().replace("\r\n", "\n")
    for line_no, line in enumerate(text.split("\n")[:-1] if text.endswith("\n") else
                                   text.split("\n"), start=1):  # fmt: skip
        if not line:
            continue
        cells, problem = parse_line(line)
        if problem:
            problems.append(VisitProblem(name, line_no, problem))
            continue
        for dow, week, hour in cells:
            counts[dow][week][hour] += 1
    return counts, problems


def parse_files(paths: list[Path]) -> tuple[np.ndarray, list[VisitProblem]]:
    """Counts (n, 7, 26, 24) and all problems, file after file."""
    arrays, problems = [], []
    for path in paths:
        counts, file_problems = parse_file(path)
        arrays.append(counts)
        problems.extend(file_problems)
    return np.stack(arrays) if arrays else np.zeros((0, 7, 26, 24), np.int64), problems
