"""prepare: every bad input is reported, strict mode stops, splits are stratified and stable."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ablate.data import open_cache, prepare_cache
from ablate.errors import DataError

FIRST = "000000_001"
FIRST_IMAGE = f"train_image/train/001/{FIRST}.jpg"
FIRST_VISIT = f"train_visit/{FIRST}.txt"
GOOD_LINE = "0123456789abcdef\t20181001&05"


def _jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 80)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _truncate(raw: Path) -> None:
    data = (raw / FIRST_IMAGE).read_bytes()
    (raw / FIRST_IMAGE).write_bytes(data[: len(data) // 2])


DAMAGE = {
    "truncated jpeg": (_truncate, FIRST_IMAGE, 0, "cannot decode JPEG (image file is truncated"),
    "not a jpeg": (
        lambda raw: (raw / FIRST_IMAGE).write_bytes(b"not an image"),
        FIRST_IMAGE, 0, "cannot decode JPEG (cannot identify image file",
    ),
    "wrong size": (
        lambda raw: (raw / FIRST_IMAGE).write_bytes(_jpeg(60, 50)),
        FIRST_IMAGE, 0, "image is 60×50, expected 100×100",
    ),
    "visit line": (
        lambda raw: (raw / FIRST_VISIT).write_text(f"{GOOD_LINE}\nnot a visit line\n"),
        FIRST_VISIT, 2, "line does not parse as",
    ),
    "date range": (
        lambda raw: (raw / FIRST_VISIT).write_text(f"{GOOD_LINE}\n{GOOD_LINE[:17]}20190401&05\n"),
        FIRST_VISIT, 2, "date 20190401 outside 2018-10-01…2019-03-31",
    ),
    "hour range": (
        lambda raw: (raw / FIRST_VISIT).write_text(f"{GOOD_LINE[:17]}20181001&24\n"),
        FIRST_VISIT, 1, "hour 24 outside 00–23",
    ),
    "image without visit": (
        lambda raw: (raw / FIRST_VISIT).unlink(),
        FIRST_IMAGE, 0, f"has no visit file with id {FIRST}",
    ),
    "visit without image": (
        lambda raw: (raw / FIRST_IMAGE).unlink(),
        FIRST_VISIT, 0, f"has no image with id {FIRST}",
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_bad_input_is_reported_and_skipped(raw_copy: Path, tmp_path: Path, kind: str) -> None:
    damage, file, line, reason = DAMAGE[kind]
    damage(raw_copy)
    manifest = prepare_cache(raw_copy, tmp_path / "cache")
    assert len(manifest["problems"]) == 1
    problem = manifest["problems"][0]
    assert (problem["file"], problem["line"]) == (file, line)
    assert problem["reason"].startswith(reason)
    cache = open_cache(tmp_path / "cache")
    assert len(cache.labels) == 95 and 0 not in cache.ids[cache.labels >= 0]


@pytest.mark.parametrize("kind", ["image without visit", "hour range"])
def test_strict_mode_raises_the_first_problem(raw_copy: Path, tmp_path: Path, kind: str) -> None:
    damage, file, line, reason = DAMAGE[kind]
    damage(raw_copy)
    where = f"{file}:{line}" if line else file
    expected = (
        f"Bad input in {raw_copy}: {where}: {reason} (fix or remove that file, or prepare "
        "without --strict to skip such samples and list them in manifest.json)"
    )
    with pytest.raises(DataError) as caught:
        prepare_cache(raw_copy, tmp_path / "cache", strict=True)
    assert str(caught.value) == expected
    assert not (tmp_path / "cache" / "COMPLETE").exists()


def test_missing_and_empty_raw_folders(tmp_path: Path) -> None:
    layout = (
        "expected train_image/train/00x/<id>_<class>.jpg with train_visit/<id>_<class>.txt, "
        "and/or test_image/test/<id>.jpg with test_visit/test/<id>.txt."
    )
    with pytest.raises(DataError, match="does not exist") as caught:
        prepare_cache(tmp_path / "nothing", tmp_path / "cache")
    assert str(caught.value).endswith(layout)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as caught:
        prepare_cache(tmp_path / "empty", tmp_path / "cache")
    assert str(caught.value) == f"No URFC data in {tmp_path / 'empty'}: {layout}"


def test_refuses_an_output_folder_with_other_files(raw_small: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="holds other files"):
        prepare_cache(raw_small, tmp_path)


def test_split_is_stratified_disjoint_and_stable(cache_small: Path, raw_small, tmp_path) -> None:
    cache = open_cache(cache_small)
    labelled = np.flatnonzero(cache.labels >= 0)
    parts = [cache.splits[name] for name in ("train", "val", "test")]
    assert sorted(np.concatenate(parts).tolist()) == labelled.tolist()
    for name, share in (("val", 0.2), ("test", 0.2)):
        assert np.bincount(cache.labels[cache.splits[name]], minlength=9).tolist() == [2] * 9
        assert cache.manifest["settings"][f"{name}_fraction"] == share
    assert cache.splits["unlabelled"].tolist() == np.flatnonzero(cache.labels < 0).tolist()
    first_nine = cache.labels[cache.splits["train"][:9]]
    assert sorted(first_nine.tolist()) == list(range(9))  # prefixes are stratified too
    again = open_cache(Path(prepare_cache(raw_small, tmp_path / "again") and tmp_path / "again"))
    other = prepare_cache(raw_small, tmp_path / "other", split_seed=1)
    for name in ("train", "val", "test"):
        np.testing.assert_array_equal(cache.splits[name], again.splits[name])
    assert other["split_counts"] == cache.manifest["split_counts"]
    assert not np.array_equal(open_cache(tmp_path / "other").splits["val"], cache.splits["val"])


def test_manifest_counts_and_filters(raw_small: Path, tmp_path: Path) -> None:
    manifest = prepare_cache(raw_small, tmp_path / "c", filter_dark=0.5, filter_bright=0.5)
    assert manifest["n_labelled"] + manifest["n_unlabelled"] + len(manifest["filtered"]) == 96
    assert manifest["filtered"] and all("pixels >" in f["reason"] for f in manifest["filtered"])
    assert manifest["source_files"] == 192 and len(manifest["source_checksum"]) == 64
    on_disk = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert on_disk == manifest


def test_rerun_is_a_no_op_and_other_settings_rebuild(cache_small: Path, raw_small: Path) -> None:
    before = (cache_small / "images.npy").stat().st_mtime_ns
    prepare_cache(raw_small, cache_small)
    assert (cache_small / "images.npy").stat().st_mtime_ns == before
