"""Finding the samples of a raw URFC folder (both competition rounds' layouts) and pairing them."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

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
_TRAIN_NAME = re.compile(r"(\d+)_(00[1-9])\.(jpg|txt)")
_TEST_NAME = re.compile(r"(\d+)\.(jpg|txt)")


@dataclass(frozen=True)
class RawSample:
    """One region: id, label (class − 1; −1 unlabelled), paths relative to the raw folder."""

    id: int
    label: int
    image: str
    visit: str


def _first_dir(raw_dir: Path, *candidates: str) -> Path | None:
    for candidate in candidates:
        if (raw_dir / candidate).is_dir():
            return raw_dir / candidate
    return None


def _files(folder: Path | None, suffix: str) -> list[str]:
    if folder is None:
        return []
    with os.scandir(folder) as entries:
        return sorted(e.name for e in entries if e.name.endswith(suffix) and e.is_file())


def _rel(path: Path, raw_dir: Path) -> str:
    return path.relative_to(raw_dir).as_posix()


def discover(raw_dir: Path) -> tuple[list[RawSample], list[Problem]]:
    """Labelled samples (sorted by id), then unlabelled ones, and every unpaired or odd file."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise DataError(f"Raw data folder {raw_dir} does not exist; expected {EXPECTED_LAYOUT}.")
    problems: list[Problem] = []
    train_images: dict[str, Path] = {}
    image_root = _first_dir(raw_dir, "train_image/train", "train_image")
    for c in range(1, 10):
        folder = image_root / f"{c:03d}" if image_root else None
        for name in _files(folder if folder and folder.is_dir() else None, ".jpg"):
            match = _TRAIN_NAME.fullmatch(name)
            if not match or int(match.group(2)) != c:
                problems.append(Problem(_rel(folder / name, raw_dir), 0, "unexpected file name"))
                continue
            train_images[name[:-4]] = folder / name
    visit_root = _first_dir(raw_dir, "train_visit/train", "train_visit")
    train_visits = {name[:-4]: visit_root / name for name in _files(visit_root, ".txt")}
    test_images = {n[:-4]: p for n, p in _listed(raw_dir, "test_image/test", "test_image", ".jpg")}
    test_visits = {n[:-4]: p for n, p in _listed(raw_dir, "test_visit/test", "test_visit", ".txt")}
    if not (train_images or train_visits or test_images or test_visits):
        raise DataError(f"No URFC data in {raw_dir}: expected {EXPECTED_LAYOUT}.")
    samples = _pair(raw_dir, train_images, train_visits, _TRAIN_NAME, problems)
    samples += _pair(raw_dir, test_images, test_visits, _TEST_NAME, problems)
    return samples, problems


def _listed(raw_dir: Path, *candidates_and_suffix: str) -> list[tuple[str, Path]]:
    *candidates, suffix = candidates_and_suffix
    folder = _first_dir(raw_dir, *candidates)
    return [(name, folder / name) for name in _files(folder, suffix)] if folder else []


def _pair(
    raw_dir: Path,
    images: dict[str, Path],
    visits: dict[str, Path],
    pattern: re.Pattern[str],
    problems: list[Problem],
) -> list[RawSample]:
    samples = []
    for stem in sorted(images.keys() | visits.keys(), key=lambda s: (len(s), s)):
        image, visit = images.get(stem), visits.get(stem)
        if image is None or visit is None:
            present = image if image is not None else visit
            missing = "visit file" if visit is None else "image"
            problems.append(Problem(_rel(present, raw_dir), 0, f"has no {missing} with id {stem}"))
            continue
        match = pattern.fullmatch(image.name)
        if match is None:
            problems.append(Problem(_rel(image, raw_dir), 0, "unexpected file name"))
            continue
        label = int(match.group(2)) - 1 if pattern is _TRAIN_NAME else -1
        samples.append(
            RawSample(int(match.group(1)), label, _rel(image, raw_dir), _rel(visit, raw_dir))
        )
    return samples
