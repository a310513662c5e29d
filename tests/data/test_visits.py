"""The vectorised visit parser gives exactly what the per-line reference parser gives."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from ablate.data import parse_visit_bytes, parse_visit_files

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import reference_parser

USER_A, USER_B = "0123456789abcdef", "fedcba9876543210"
MANY_DATES = [f"2018{m:02d}{d:02d}&{d % 24:02d}|12" for m in (10, 11, 12) for d in range(1, 29)]
EDGE_LINES = [
    f"{USER_A}\t20181001&00|23|00,20190331&23|00",  # first and last day, hour 00 and 23, repeat
    f"{USER_A}\t20181001&00",  # the same user again: a separate line, counted again
    f"{USER_B}\t" + ",".join(MANY_DATES),  # a user with many dates
    f"{USER_B}\t20181007&05,20181007&05|06",  # same date twice on one line: counts once
    "",
]
BAD_LINES = {
    f"{USER_A}\t20180930&01": "date 20180930 outside 2018-10-01…2019-03-31",
    f"{USER_A}\t20190401&01": "date 20190401 outside 2018-10-01…2019-03-31",
    f"{USER_A}\t20181232&01": "date 20181232 outside 2018-10-01…2019-03-31",
    f"{USER_A}\t20181001&24": "hour 24 outside 00–23",
    f"{USER_A}\t20181001&01|99,20190401&01": "hour 99 outside 00–23",
    f"{USER_A.upper()}\t20181001&01": "does not parse",
    f"{USER_A}x\t20181001&01": "does not parse",
    f"{USER_A} 20181001&01": "does not parse",
    f"{USER_A}\t2018101&01": "does not parse",
    f"{USER_A}\t20181001&1": "does not parse",
    f"{USER_A}\t20181001&01|": "does not parse",
    f"{USER_A}\t20181001&01,": "does not parse",
    f"{USER_A}\t20181001&01||02": "does not parse",
    f"{USER_A}\t20181001": "does not parse",
    f"{USER_A}\t": "does not parse",
    f"{USER_A}\t20181001&01\t20181001&02": "does not parse",
    "garbage": "does not parse",
}


def _write(folder: Path, name: str, lines: list[str], end: str = "\n") -> Path:
    path = folder / name
    path.write_bytes(end.join(lines).encode())
    return path


def _compare(paths: list[Path], **kwargs) -> None:
    fast = parse_visit_files(paths, **kwargs)
    counts, problems = reference_parser.parse_files(paths)
    assert fast.counts.dtype == np.uint16
    np.testing.assert_array_equal(fast.counts.astype(np.int64), counts)
    assert list(fast.problems) == problems


def test_edge_cases_match_reference(tmp_path: Path) -> None:
    path = _write(tmp_path, "edge.txt", EDGE_LINES)
    _compare([path])
    counts = parse_visit_files([path]).counts[0]
    assert counts[0, 0, 0] == 2  # Monday week 0 hour 00: line 1 once, line 2 once
    assert counts[6, 25, 23] == 1  # 2019-03-31 is the Sunday of week 25
    assert counts[6, 0, 5] == 1 and counts[6, 0, 6] == 1  # 2018-10-07, date repeated on a line


def test_synthetic_files_match_reference(raw_small: Path) -> None:
    paths = sorted((raw_small / "train_visit").glob("*.txt"))
    _compare(paths, batch_files=7)


def test_workers_give_the_same_result(raw_small: Path) -> None:
    paths = sorted((raw_small / "train_visit").glob("*.txt"))[:40]
    one = parse_visit_files(paths)
    two = parse_visit_files(paths, workers=2, batch_files=9)
    np.testing.assert_array_equal(one.counts, two.counts)


@pytest.mark.parametrize(("line", "reason"), list(BAD_LINES.items()))
def test_bad_line_is_reported_and_left_out(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path, "bad.txt", [f"{USER_B}\t20181002&03", line, f"{USER_B}\t20181003&04"])
    parsed = parse_visit_files([path])
    assert len(parsed.problems) == 1 and parsed.bad.tolist() == [True]
    problem = parsed.problems[0]
    assert (problem.file, problem.line) == (str(path), 2)
    assert reason in problem.reason
    assert parsed.counts.sum() == 2  # the good lines still count
    _compare([path])


def test_all_bad_lines_in_one_batch_match_reference(tmp_path: Path) -> None:
    paths = [_write(tmp_path, f"{i}.txt", [line, EDGE_LINES[0]]) for i, line in
             enumerate(BAD_LINES)]  # fmt: skip
    paths.append(_write(tmp_path, "edge.txt", EDGE_LINES))
    _compare(paths)


def test_crlf_missing_final_newline_and_empty_file(tmp_path: Path) -> None:
    crlf = _write(tmp_path, "crlf.txt", EDGE_LINES[:2], end="\r\n")
    unix = _write(tmp_path, "unix.txt", EDGE_LINES[:2])
    empty = _write(tmp_path, "empty.txt", [])
    parsed = parse_visit_files([crlf, unix, empty])
    np.testing.assert_array_equal(parsed.counts[0], parsed.counts[1])
    assert parsed.counts[2].sum() == 0 and not parsed.problems
    _compare([crlf, unix, empty])


def test_parse_bytes_names_problems_by_given_name() -> None:
    parsed = parse_visit_bytes([b"nonsense\n"], ["train_visit/000001_001.txt"])
    assert str(parsed.problems[0]).startswith("train_visit/000001_001.txt:1: line does not parse")
