"""Vectorised parser for URFC visit files: raw bytes in, (7, 26, 24) count tensors out.

A visit line is ``<16 hex user id>\\t<YYYYMMDD>&<HH>|<HH>|...,<YYYYMMDD>&<HH>|...``. Every token
has a fixed width, so the whole batch (many files' bytes joined) is checked with numpy alone:
each ``&`` must close 8 digits that follow the tab or a ``,``; each ``|``, ``,`` and line end
must close 2 digits that follow a ``&`` or a ``|``; and these claims, plus the 17-byte user
header, must cover the line exactly. No Python loop runs per line.

Counting follows the task's definition, as ``bench/reference_parser.py`` does: a cell
``[day_of_week][week][hour]`` is incremented once per (line, date, hour). A line naming the same
date and hour twice counts once; two lines of the same user id are two lines and both count.
A line with any problem (does not parse, date or hour out of range) is left out and reported.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ablate.data._calendar import (
    DATE_INTS,
    DATE_RANGE_TEXT,
    DAY_HOURS,
    N_DAYS,
    N_HOURS,
    VISIT_SHAPE,
    day_hours_to_tensor,
)

PARSER_VERSION = 1
COUNT_DTYPE = np.uint16
COUNT_LIMIT = int(np.iinfo(COUNT_DTYPE).max)
LINE_FORMAT = "'<16 hex user id>\\t<YYYYMMDD>&<HH>|<HH>,<YYYYMMDD>&<HH>...'"
_PAD = 16  # bytes of b"\n" before and b"\0" after the batch, so look-arounds stay in bounds

_TAB, _NL, _AMP, _PIPE, _COMMA = 9, 10, 38, 124, 44
_IS_DIGIT = np.zeros(256, dtype=bool)
_IS_DIGIT[48:58] = True
_IS_HEX = _IS_DIGIT.copy()
_IS_HEX[97:103] = True
_POW10 = 10 ** np.arange(7, -1, -1, dtype=np.int64)


@dataclass(frozen=True)
class VisitProblem:
    """One problem in one visit file; ``line`` is 1-based (0: the file as a whole)."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.line}: {self.reason}"
            if self.line
            else f"{self.file}: {self.reason}"
        )


@dataclass(frozen=True)
class ParsedVisits:
    """Counts for a batch of files, (n, 7, 26, 24) uint16, and what was wrong in them."""

    counts: np.ndarray
    problems: tuple[VisitProblem, ...]
    bad: np.ndarray  # bool per file: at least one problem

    @classmethod
    def concat(cls, parts: Sequence[ParsedVisits]) -> ParsedVisits:
        if not parts:
            return cls(np.zeros((0, *VISIT_SHAPE), COUNT_DTYPE), (), np.zeros(0, bool))
        return cls(
            np.concatenate([p.counts for p in parts]),
            tuple(q for p in parts for q in p.problems),
            np.concatenate([p.bad for p in parts]),
        )


def parse_visit_bytes(blobs: Sequence[bytes], names: Sequence[str]) -> ParsedVisits:
    """Parse the contents of several visit files at once (``names`` label the problems)."""
    joined, file_starts = _join(blobs)
    buf = np.frombuffer(b"\n" * _PAD + joined + b"\0" * _PAD, dtype=np.uint8)
    n_files = len(blobs)
    newlines = np.flatnonzero(buf[:-_PAD] == _NL)
    newlines = newlines[newlines >= _PAD]
    starts = np.concatenate([[_PAD], newlines + 1])[: len(newlines)].astype(np.int64)
    file_of_line = np.searchsorted(file_starts + _PAD, starts, side="right") - 1
    first_line = np.searchsorted(starts, file_starts + _PAD)
    line_no = np.arange(len(starts)) - first_line[file_of_line] + 1

    amps = np.flatnonzero(buf == _AMP)
    seps = np.flatnonzero((buf == _PIPE) | (buf == _COMMA))
    nonempty = newlines > starts
    seps = np.union1d(seps, newlines[nonempty])
    ok = _line_shape_ok(buf, starts, newlines, nonempty, amps, seps)

    sep_line = np.searchsorted(newlines, seps)
    amp_line = np.searchsorted(newlines, amps)
    seps, sep_line = seps[ok[sep_line]], sep_line[ok[sep_line]]
    amps, amp_line = amps[ok[amp_line]], amp_line[ok[amp_line]]
    date_of_amp = (buf[amps[:, None] - np.arange(8, 0, -1)].astype(np.int64) - 48) @ _POW10
    day_of_amp = np.minimum(np.searchsorted(DATE_INTS, date_of_amp), N_DAYS - 1)
    date_ok = DATE_INTS[day_of_amp] == date_of_amp
    hour = (buf[seps - 2].astype(np.int64) - 48) * 10 + buf[seps - 1] - 48
    amp_of_sep = np.searchsorted(amps, seps) - 1
    hour_ok = hour < N_HOURS

    problems = [
        (i, f"line does not parse as {LINE_FORMAT}") for i in np.flatnonzero(nonempty & ~ok)
    ]
    problems += _range_problems(
        amps[~date_ok], amp_line[~date_ok], date_of_amp[~date_ok],
        seps[~hour_ok], sep_line[~hour_ok], hour[~hour_ok],
    )  # fmt: skip
    good_line = ok.copy()
    good_line[amp_line[~date_ok]] = False
    good_line[sep_line[~hour_ok]] = False

    keep = good_line[sep_line]
    cell = day_of_amp[amp_of_sep[keep]] * N_HOURS + hour[keep]
    unique_keys = np.unique(sep_line[keep] * DAY_HOURS + cell)  # once per (line, date, hour)
    flat = file_of_line[unique_keys // DAY_HOURS] * DAY_HOURS + unique_keys % DAY_HOURS
    day_hours = np.bincount(flat, minlength=n_files * DAY_HOURS).reshape(n_files, N_DAYS, N_HOURS)
    overflow = day_hours.reshape(n_files, -1).max(axis=1, initial=0) > COUNT_LIMIT
    located = [(int(file_of_line[i]), int(line_no[i]), reason) for i, reason in problems]
    located += [
        (int(f), 0, f"more than {COUNT_LIMIT} visits in one cell")
        for f in np.flatnonzero(overflow)
    ]
    located.sort()
    counts = day_hours_to_tensor(np.minimum(day_hours, COUNT_LIMIT).astype(COUNT_DTYPE))
    bad = np.zeros(n_files, dtype=bool)
    bad[file_of_line[~good_line & nonempty]] = True
    bad |= overflow
    return ParsedVisits(counts, tuple(VisitProblem(names[f], ln, r) for f, ln, r in located), bad)


def _join(blobs: Sequence[bytes]) -> tuple[bytes, np.ndarray]:
    parts = []
    for blob in blobs:
        if b"\r" in blob:
            blob = blob.replace(b"\r\n", b"\n")
        if blob and not blob.endswith(b"\n"):
            blob += b"\n"
        parts.append(blob)
    sizes = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
    return b"".join(parts), np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _line_shape_ok(
    buf: np.ndarray,
    starts: np.ndarray,
    newlines: np.ndarray,
    nonempty: np.ndarray,
    amps: np.ndarray,
    seps: np.ndarray,
) -> np.ndarray:
    """Per line: True when it has exactly the fixed-width token structure."""
    n_lines = len(starts)
    header_ok = _IS_HEX[buf[starts[:, None] + np.arange(16)]].all(axis=1)
    header_ok &= buf[starts + 16] == _TAB
    amp_line = np.searchsorted(newlines, amps)
    sep_line = np.searchsorted(newlines, seps)
    amp_ok = _IS_DIGIT[buf[amps[:, None] - np.arange(1, 9)]].all(axis=1)
    amp_ok &= np.isin(buf[amps - 9], (_TAB, _COMMA))
    sep_ok = _IS_DIGIT[buf[seps - 1]] & _IS_DIGIT[buf[seps - 2]]
    sep_ok &= np.isin(buf[seps - 3], (_AMP, _PIPE))
    n_amps = np.bincount(amp_line, minlength=n_lines)
    n_seps = np.bincount(sep_line, minlength=n_lines)
    n_tabs = np.bincount(np.searchsorted(newlines, np.flatnonzero(buf == _TAB)), minlength=n_lines)
    claimed = 17 + 9 * n_amps + 3 * n_seps  # the newline is the last separator's byte
    ok = nonempty & header_ok & (n_tabs == 1) & (claimed == newlines - starts + 1)
    ok[amp_line[~amp_ok]] = False
    ok[sep_line[~sep_ok]] = False
    return ok


def _range_problems(amp_pos, amp_line, dates, sep_pos, sep_line, hours) -> list[tuple[int, str]]:
    """The first out-of-range token of each line, in line order (as a per-line loop finds it)."""
    pos = np.concatenate([amp_pos, sep_pos])
    lines = np.concatenate([amp_line, sep_line])
    reasons = [f"date {d} outside {DATE_RANGE_TEXT}" for d in dates]
    reasons += [f"hour {h:02d} outside 00–23" for h in hours]
    order = np.argsort(pos, kind="stable")
    _, first = np.unique(lines[order], return_index=True)
    picked = order[first]
    return [(int(lines[i]), reasons[i]) for i in picked]


def read_and_parse(paths: Sequence[Path], names: Sequence[str]) -> ParsedVisits:
    """Read a batch of files and parse them (an unreadable file becomes a problem)."""
    blobs, problems, unreadable = [], [], []
    for i, path in enumerate(paths):
        try:
            blobs.append(Path(path).read_bytes())
        except OSError as exc:
            blobs.append(b"")
            unreadable.append(i)
            problems.append(VisitProblem(names[i], 0, f"cannot read: {exc.strerror or exc}"))
    parsed = parse_visit_bytes(blobs, names)
    if not unreadable:
        return parsed
    bad = parsed.bad.copy()
    bad[unreadable] = True
    rank = {name: i for i, name in enumerate(names)}
    merged = sorted([*problems, *parsed.problems], key=lambda p: (rank[p.file], p.line))
    return ParsedVisits(parsed.counts, tuple(merged), bad)


def parse_visit_files(
    paths: Sequence[Path],
    *,
    workers: int = 1,
    batch_files: int = 256,
    names: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ParsedVisits:
    """Parse many visit files in batches, in ``workers`` spawned processes when > 1."""
    names = [str(p) for p in paths] if names is None else list(names)
    batches = [
        (list(paths[i : i + batch_files]), names[i : i + batch_files])
        for i in range(0, len(paths), batch_files)
    ]
    results: list[ParsedVisits] = []
    done = 0
    if workers <= 1:
        for batch in batches:
            results.append(read_and_parse(*batch))
            done += len(batch[0])
            if progress:
                progress(done, len(paths))
        return ParsedVisits.concat(results)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for batch, parsed in zip(
            batches, pool.map(read_and_parse, *zip(*batches, strict=True)), strict=True
        ):
            results.append(parsed)
            done += len(batch[0])
            if progress:
                progress(done, len(paths))
    return ParsedVisits.concat(results)
