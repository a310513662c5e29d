"""One resumable unit of ``prepare``: decode a chunk of samples and write it atomically."""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ablate._files import write_atomic
from ablate.data._calendar import VISIT_SHAPE
from ablate.data._layout import RawSample
from ablate.data.visits import COUNT_DTYPE, ParsedVisits, parse_visit_bytes

SIDE = 100
VISIT_BATCH = 256  # files parsed together: bounds the parser's memory (~12 bytes per byte)
DARK_LEVEL, BRIGHT_LEVEL = 20, 235  # a pixel is dark (bright) if every channel is below (above)


@dataclass(frozen=True)
class ChunkJob:
    """Picklable description of one chunk (runs in a spawned worker)."""

    raw_dir: str
    samples: tuple[RawSample, ...]
    target: str
    filter_dark: float | None
    filter_bright: float | None


def decode_image(data: bytes, name: str) -> tuple[np.ndarray | None, str | None]:
    """The (100, 100, 3) uint8 pixels, or why there are none (naming the file ``name``)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            pixels = np.asarray(image.convert("RGB") if image.mode != "RGB" else image)
    except UnidentifiedImageError:  # its message holds the repr of our in-memory buffer
        return None, f"cannot decode JPEG (cannot identify image file {name})"
    except (OSError, ValueError) as exc:
        return None, f"cannot decode JPEG ({exc})"
    if pixels.shape[:2] != (SIDE, SIDE):
        return None, f"image is {pixels.shape[1]}×{pixels.shape[0]}, expected 100×100"
    return pixels, None


def filter_reason(pixels: np.ndarray, dark: float | None, bright: float | None) -> str | None:
    """Why a tile of missing imagery is left out (competitors' histogram filter), if it is."""
    if dark is not None:
        share = float((pixels.max(axis=2) < DARK_LEVEL).mean())
        if share > dark:
            return f"{share:.0%} dark pixels > filter_dark {dark}"
    if bright is not None:
        share = float((pixels.min(axis=2) > BRIGHT_LEVEL).mean())
        if share > bright:
            return f"{share:.0%} bright pixels > filter_bright {bright}"
    return None


def _read(path: Path) -> tuple[bytes, str | None]:
    try:
        return path.read_bytes(), None
    except OSError as exc:
        return b"", f"cannot read ({exc.strerror or exc})"


def run_chunk(job: ChunkJob) -> None:
    """Decode images, parse visits, and write ``job.target`` (an .npz) atomically."""
    raw = Path(job.raw_dir)
    n = len(job.samples)
    images = np.zeros((n, SIDE, SIDE, 3), dtype=np.uint8)
    keep = np.ones(n, dtype=bool)
    problems: list[list[list]] = [[] for _ in range(n)]
    filtered: list[list] = []
    digests = np.zeros((n, 32), dtype=np.uint8)  # per sample, so the total is chunk-independent
    blobs = []
    for i, sample in enumerate(job.samples):
        data, error = _read(raw / sample.image)
        digest = hashlib.sha256(data)
        pixels, error = (None, error) if error else decode_image(data, sample.image)
        if pixels is None:
            problems[i].append([sample.image, 0, error])
        else:
            images[i] = pixels
        visit, error = _read(raw / sample.visit)
        digest.update(visit)
        digests[i] = np.frombuffer(digest.digest(), dtype=np.uint8)
        if error:
            problems[i].append([sample.visit, 0, error])
        blobs.append(visit)
    names = [s.visit for s in job.samples]
    parsed = ParsedVisits.concat(
        [
            parse_visit_bytes(blobs[i : i + VISIT_BATCH], names[i : i + VISIT_BATCH])
            for i in range(0, n, VISIT_BATCH)
        ]
    )
    row = {s.visit: i for i, s in enumerate(job.samples)}
    for p in parsed.problems:
        problems[row[p.file]].append([p.file, p.line, p.reason])
    for i, sample in enumerate(job.samples):
        keep[i] = not problems[i]
        reason = keep[i] and filter_reason(images[i], job.filter_dark, job.filter_bright)
        if reason:
            keep[i] = False
            filtered.append([sample.image, 0, reason])
    arrays = {
        "images": images,
        "visits": parsed.counts.astype(COUNT_DTYPE).reshape(n, *VISIT_SHAPE),
        "labels": np.array([s.label for s in job.samples], dtype=np.int64),
        "ids": np.array([s.id for s in job.samples], dtype=np.int64),
        "keep": keep,
        "problems": np.array(json.dumps([p for ps in problems for p in ps])),
        "filtered": np.array(json.dumps(filtered)),
        "digests": digests,
    }
    write_atomic(Path(job.target), lambda handle: np.savez(handle, **arrays))
