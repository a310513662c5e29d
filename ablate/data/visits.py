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
    lines = _Lines(buf, file_starts + _PAD)
    tokens = _Tokens(buf, lines)
    ok = _line_shape_ok(buf, lines, tokens)
    on_ok = ok[tokens.amp_line], ok[tokens.sep_line]
    bad_date = on_ok[0] & ~tokens.date_ok
    bad_hour = on_ok[1] & ~tokens.hour_ok
    problems = [
        (i, f"line does not parse as {LINE_FORMAT}") for i in np.flatnonzero(lines.nonempty & ~ok)
    ]
    problems += _range_problems(
        tokens.amps[bad_date], tokens.amp_line[bad_date], tokens.date[bad_date],
        tokens.seps[bad_hour], tokens.sep_line[bad_hour], tokens.hour[bad_hour],
    )  # fmt: skip
    good_line = ok.copy()
    good_line[tokens.amp_line[bad_date]] = False
    good_line[tokens.sep_line[bad_hour]] = False

    keep = good_line[tokens.sep_line]
    cell = tokens.day[tokens.amp_of_sep[keep]] * N_HOURS + tokens.hour[keep]
    unique_keys = _once_per_line(tokens.sep_line[keep] * DAY_HOURS + cell)
    flat = lines.file[unique_keys // DAY_HOURS] * DAY_HOURS + unique_keys % DAY_HOURS
    day_hours = np.bincount(flat, minlength=n_files * DAY_HOURS).reshape(n_files, N_DAYS, N_HOURS)
    overflow = day_hours.reshape(n_files, -1).max(axis=1, initial=0) > COUNT_LIMIT
    located = [(int(lines.file[i]), int(lines.number[i]), reason) for i, reason in problems]
    located += [
        (int(f), 0, f"more than {COUNT_LIMIT} visits in one cell")
        for f in np.flatnonzero(overflow)
    ]
    located.sort()
    counts = day_hours_to_tensor(np.minimum(day_hours, COUNT_LIMIT).astype(COUNT_DTYPE))
    bad = np.zeros(n_files, dtype=bool)
    bad[lines.file[~good_line & lines.nonempty]] = True
    bad |= overflow
    return ParsedVisits(counts, tuple(VisitProblem(names[f], ln, r) for f, ln, r in located), bad)


class _Lines:
    """Where each line starts and ends, its file and 1-based number in that file."""

    def __init__(self, buf: np.ndarray, file_starts: np.ndarray) -> None:
        self.is_newline = buf == _NL
        self.is_newline[-_PAD:] = False
        ends = np.flatnonzero(self.is_newline)
        self.ends = ends[ends >= _PAD]
        self.starts = np.concatenate([[_PAD], self.ends + 1])[: len(self.ends)].astype(np.int64)
        self.nonempty = self.ends > self.starts
        self.file = np.searchsorted(file_starts, self.starts, side="right") - 1
        first_line = np.searchsorted(self.starts, file_starts)
        self.number = np.arange(len(self.starts)) - first_line[self.file] + 1
        # newlines at or before each byte; the pad's newlines come first
        self.newlines_upto = np.cumsum(self.is_newline, dtype=np.int32)

    def of(self, positions: np.ndarray) -> np.ndarray:
        """Line index of bytes (a newline counts as the next line's: subtract it)."""
        return (self.newlines_upto[positions] - _PAD).astype(np.int64)


class _Tokens:
    """Dates (at each '&') and hours (before each '|', ',' and line end), decoded blindly."""

    def __init__(self, buf: np.ndarray, lines: _Lines) -> None:
        is_amp = buf == _AMP
        self.amps = np.flatnonzero(is_amp)
        is_sep = (buf == _PIPE) | (buf == _COMMA)
        newline = lines.is_newline
        is_sep[1:] |= newline[1:] & ~newline[:-1]  # the end of a non-empty line
        self.seps = np.flatnonzero(is_sep)
        self.amp_line = lines.of(self.amps)
        self.sep_line = lines.of(self.seps) - newline[self.seps]
        digits = buf[self.amps[:, None] - np.arange(8, 0, -1)].astype(np.int64) - 48
        self.date = digits @ _POW10
        self.day = np.minimum(np.searchsorted(DATE_INTS, self.date), N_DAYS - 1)
        self.date_ok = DATE_INTS[self.day] == self.date
        self.hour = (buf[self.seps - 2].astype(np.int64) - 48) * 10 + buf[self.seps - 1] - 48
        self.hour_ok = self.hour < N_HOURS
        amps_upto = np.cumsum(is_amp, dtype=np.int32)
        self.amp_of_sep = np.maximum(amps_upto[self.seps] - 1, 0)


def _once_per_line(keys: np.ndarray) -> np.ndarray:
    """Drop repeated (line, date, hour) keys. Keys rise from line to line, and within a line
    when its dates and hours are in order (the usual case), so only other lines are sorted."""
    falls = np.flatnonzero(keys[1:] <= keys[:-1]) + 1
    if not len(falls):
        return keys
    lines = np.unique(keys[falls] // DAY_HOURS)
    messy = np.isin(keys // DAY_HOURS, lines)
    resorted = np.sort(keys[messy])
    resorted = resorted[np.r_[True, resorted[1:] != resorted[:-1]]]
    return np.concatenate([keys[~messy], resorted])


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


def _line_shape_ok(buf: np.ndarray, lines: _Lines, tokens: _Tokens) -> np.ndarray:
    """Per line: True when it has exactly the fixed-width token structure."""
    starts = lines.starts
    n_lines = len(starts)
    header_ok = _IS_HEX[buf[starts[:, None] + np.arange(16)]].all(axis=1)
    header_ok &= buf[starts + 16] == _TAB
    amps, seps = tokens.amps, tokens.seps
    amp_ok = _IS_DIGIT[buf[amps[:, None] - np.arange(1, 9)]].all(axis=1)
    amp_ok &= np.isin(buf[amps - 9], (_TAB, _COMMA))
    sep_ok = _IS_DIGIT[buf[seps - 1]] & _IS_DIGIT[buf[seps - 2]]
    sep_ok &= np.isin(buf[seps - 3], (_AMP, _PIPE))
    n_amps = np.bincount(tokens.amp_line, minlength=n_lines)
    n_seps = np.bincount(tokens.sep_line, minlength=n_lines)
    n_tabs = np.bincount(lines.of(np.flatnonzero(buf == _TAB)), minlength=n_lines)
    claimed = 17 + 9 * n_amps + 3 * n_seps  # the newline is the last separator's byte
    ok = lines.nonempty & header_ok & (n_tabs == 1) & (claimed == lines.ends - starts + 1)
    ok[tokens.amp_line[~amp_ok]] = False
    ok[tokens.sep_line[~sep_ok]] = False
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
