"""Finding the samples of a raw URFC folder (both competition rounds' layouts) and pairing them.

The final round has 500,000 regions, so the samples are not kept as objects and paths: each is
one 10-byte record (the digits of its name and its class), and a chunk's paths are made from
its records only when the chunk is processed (``SampleTable.samples``). Folders are read entry
by entry, so finding the samples holds a few dozen bytes per region at most.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ablate.data.visits import VisitProblem as Problem
from ablate.errors import DataError

# The 9 URFC classes: id = folder = file suffix (001…009), label = id − 1.
URFC_CLASSES = (
    "Residential area",
    "School",
    "Industrial park",
    "Railway station",
    "Airport",
    "Park",
    "Shopping area",
    "Administrative district",
    "Hospital",
)
EXPECTED_LAYOUT = (
    "train_image/train/00x/<id>_<class>.jpg with train_visit/<id>_<class>.txt, and/or "
    "test_image/test/<id>.jpg with test_visit/test/<id>.txt"
)
# ASCII digits only, at most 18 (an int64 id): a name is rebuilt exactly from its record.
_TRAIN_NAME = re.compile(r"(?P<id>[0-9]{1,18})_(?P<cls>00[1-9])\.(jpg|txt)")
_TEST_NAME = re.compile(r"(?P<id>[0-9]{1,18})\.(jpg|txt)")
# A sample's name: ``width`` digits of ``id``, then "_00<cls>" (cls 0: an unlabelled region).
# Sorted records are sorted by (length, name), the order the samples are stored in.
KEY = np.dtype([("width", np.uint8), ("id", np.int64), ("cls", np.int8)])


@dataclass(frozen=True)
class RawSample:
    """One region: id, label (class − 1; −1 unlabelled), paths relative to the raw folder."""

    id: int
    label: int
    image: str
    visit: str


def _stem(width: int, id_: int, cls: int) -> str:
    return f"{id_:0{width}d}_{cls:03d}" if cls else f"{id_:0{width}d}"


@dataclass(frozen=True)
class SampleTable:
    """The paired samples, labelled ones (sorted by name) first, as ``KEY`` records."""

    keys: np.ndarray
    train_image_root: str  # folders relative to the raw folder
    train_visit_root: str
    test_image_root: str
    test_visit_root: str

    def __len__(self) -> int:
        return len(self.keys)

    def samples(self, start: int, stop: int) -> tuple[RawSample, ...]:
        """Samples ``start`` to ``stop`` (exclusive), with their paths."""
        part = self.keys[start:stop]
        rows = zip(*(part[f].tolist() for f in ("width", "id", "cls")), strict=True)
        return tuple(self._sample(width, id_, cls) for width, id_, cls in rows)

    def _sample(self, width: int, id_: int, cls: int) -> RawSample:
        stem = _stem(width, id_, cls)
        if cls:
            image = f"{self.train_image_root}/{cls:03d}/{stem}.jpg"
            return RawSample(id_, cls - 1, image, f"{self.train_visit_root}/{stem}.txt")
        return RawSample(
            id_, -1, f"{self.test_image_root}/{stem}.jpg", f"{self.test_visit_root}/{stem}.txt"
        )


def _first_dir(raw_dir: Path, *candidates: str) -> str | None:
    for candidate in candidates:
        if (raw_dir / candidate).is_dir():
            return candidate
    return None


def _scan(folder: Path | None, suffix: str, pattern: re.Pattern[str], *, cls: int | None = None):
    """Records of the names in ``folder`` that ``pattern`` accepts (of class ``cls`` if given),
    and the other ``suffix`` names, sorted."""
    widths, ids, classes, others = array("B"), array("q"), array("b"), []
    if folder is not None and folder.is_dir():
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.endswith(suffix) or not entry.is_file():
                    continue
                match = pattern.fullmatch(entry.name)
                found = int(match["cls"]) if match and "cls" in pattern.groupindex else 0
                if match is None or (cls is not None and found != cls):
                    others.append(entry.name)
                    continue
                widths.append(len(match["id"]))
                ids.append(int(match["id"]))
                classes.append(found)
    keys = np.empty(len(ids), KEY)
    for field, values in (("width", widths), ("id", ids), ("cls", classes)):
        keys[field] = np.frombuffer(values, dtype=KEY[field]) if len(values) else 0
    return np.sort(keys), sorted(others)


def discover(raw_dir: Path) -> tuple[SampleTable, list[Problem]]:
    """Labelled samples (sorted by id), then unlabelled ones, and every unpaired or odd file."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(f"Raw data folder {raw_dir} does not exist; expected {EXPECTED_LAYOUT}.")
    problems: list[Problem] = []
    roots = [
        _first_dir(raw_dir, "train_image/train", "train_image"),
        _first_dir(raw_dir, "train_visit/train", "train_visit"),
        _first_dir(raw_dir, "test_image/test", "test_image"),
        _first_dir(raw_dir, "test_visit/test", "test_visit"),
    ]
    image_root, visit_root, test_image_root, test_visit_root = roots
    folder = {root: raw_dir / root if root else None for root in roots}
    train_images = []
    for c in range(1, 10):
        found, others = _scan(
            folder[image_root] / f"{c:03d}" if image_root else None, ".jpg", _TRAIN_NAME, cls=c
        )
        train_images.append(found)
        problems += [
            Problem(f"{image_root}/{c:03d}/{n}", 0, "unexpected file name") for n in others
        ]
    images = np.sort(np.concatenate(train_images))
    visits, odd_visits = _scan(folder[visit_root], ".txt", _TRAIN_NAME)
    test_images, odd_test_images = _scan(folder[test_image_root], ".jpg", _TEST_NAME)
    test_visits, odd_test_visits = _scan(folder[test_visit_root], ".txt", _TEST_NAME)
    listed = (visits, odd_visits, test_images, odd_test_images, test_visits, odd_test_visits)
    if not len(images) and not any(len(names) for names in listed):
        raise DataError(f"No URFC data in {raw_dir}: expected {EXPECTED_LAYOUT}.")
    train = _pair(
        (images, []),
        (visits, odd_visits),
        lambda stem: f"{image_root}/{stem[-3:]}/{stem}.jpg",
        lambda stem: f"{visit_root}/{stem}.txt",
        problems,
    )
    test = _pair(
        (test_images, odd_test_images),
        (test_visits, odd_test_visits),
        lambda stem: f"{test_image_root}/{stem}.jpg",
        lambda stem: f"{test_visit_root}/{stem}.txt",
        problems,
    )
    return SampleTable(np.concatenate([train, test]), *(root or "" for root in roots)), problems


def _pair(
    images: tuple[np.ndarray, list[str]],
    visits: tuple[np.ndarray, list[str]],
    image_path: Callable[[str], str],
    visit_path: Callable[[str], str],
    problems: list[Problem],
) -> np.ndarray:
    """The records found in both folders; every other name becomes a problem, in name order."""
    (image_keys, image_names), (visit_keys, visit_names) = images, visits
    found: list[tuple[str, Problem]] = []
    for keys, path, missing in (
        (np.setdiff1d(image_keys, visit_keys, assume_unique=True), image_path, "visit file"),
        (np.setdiff1d(visit_keys, image_keys, assume_unique=True), visit_path, "image"),
    ):
        for width, id_, cls in keys.tolist():
            stem = _stem(width, id_, cls)
            found.append((stem, Problem(path(stem), 0, f"has no {missing} with id {stem}")))
    image_stems = {name[:-4] for name in image_names}
    visit_stems = {name[:-4] for name in visit_names}
    for stem in image_stems | visit_stems:  # names that can never be a sample's
        if stem in image_stems and stem in visit_stems:
            found.append((stem, Problem(image_path(stem), 0, "unexpected file name")))
        elif stem in image_stems:
            found.append((stem, Problem(image_path(stem), 0, f"has no visit file with id {stem}")))
        else:
            found.append((stem, Problem(visit_path(stem), 0, f"has no image with id {stem}")))
    found.sort(key=lambda item: (len(item[0]), item[0]))
    problems += [problem for _, problem in found]
    return np.intersect1d(image_keys, visit_keys, assume_unique=True)
