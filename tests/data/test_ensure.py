"""open_cache refuses what is not a complete cache; ensure_dataset goes through prepare."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ablate.cli import app
from ablate.data import ensure_dataset, open_cache
from ablate.errors import DataError
from ablate.spec import DataSpec


def test_open_cache_errors_name_the_folder_and_the_fix(tmp_path: Path, cache_small) -> None:
    fix = f"run 'ablate data prepare RAW --out {tmp_path}' to (re)build it."
    with pytest.raises(DataError) as caught:
        open_cache(tmp_path)
    assert str(caught.value) == f"Cache folder {tmp_path} is not a complete cache; {fix}"
    (tmp_path / "manifest.json").write_text(json.dumps({"cache_version": 0}))
    (tmp_path / "COMPLETE").write_text("x\n")
    with pytest.raises(DataError, match="has format version 0, this ablate reads 1"):
        open_cache(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        open_cache(tmp_path / "missing")


def test_open_cache_arrays(cache_small: Path) -> None:
    cache = open_cache(cache_small)
    assert cache.images.shape == (96, 100, 100, 3) and cache.images.dtype == np.uint8
    assert cache.visits.shape == (96, 7, 26, 24) and cache.visits.dtype == np.uint16
    assert cache.labels.dtype == np.int64 and (cache.labels == -1).sum() == 6
    assert isinstance(cache.images, np.memmap)


def test_cli_synth_and_prepare_equal_ensure_dataset(tmp_path: Path) -> None:
    runner = CliRunner()
    raw, out = tmp_path / "raw", tmp_path / "cache"
    result = runner.invoke(app, ["data", "synth", "--out", str(raw), "--n", "72", "--seed", "4"])
    assert result.exit_code == 0, result.output
    args = ["data", "prepare", str(raw), "--out", str(out), "--val", "0.2", "--test", "0.2"]
    result = runner.invoke(app, [*args, "--split-seed", "0"])
    assert result.exit_code == 0, result.output
    made = ensure_dataset(DataSpec(source="synthetic", n=72, synth_seed=4), root=tmp_path / "r")
    cli, ensured = open_cache(out), open_cache(made)
    for name in ("images", "visits", "labels", "ids"):
        np.testing.assert_array_equal(getattr(cli, name), getattr(ensured, name))
    for name in ("train", "val", "test", "unlabelled"):
        np.testing.assert_array_equal(cli.splits[name], ensured.splits[name])
    assert cli.manifest["source_checksum"] == ensured.manifest["source_checksum"]


def test_ensure_dataset_is_a_no_op_the_second_time(tmp_path: Path) -> None:
    data = DataSpec(n=36, synth_seed=1)
    calls: list[tuple[int, int]] = []
    first = ensure_dataset(data, root=tmp_path, progress=lambda d, t: calls.append((d, t)))
    stamp = (first / "images.npy").stat().st_mtime_ns
    assert calls and calls[-1] == (36, 36)
    assert ensure_dataset(data, root=tmp_path) == first
    assert (first / "images.npy").stat().st_mtime_ns == stamp
    assert ensure_dataset(data.model_copy(update={"split_seed": 2}), root=tmp_path) != first


def test_ensure_dataset_for_a_cache_checks_it(cache_small: Path, tmp_path: Path) -> None:
    assert ensure_dataset(DataSpec(source="cache", path=cache_small), root=tmp_path) == cache_small
    with pytest.raises(DataError, match="is not a complete cache"):
        ensure_dataset(DataSpec(source="cache", path=tmp_path), root=tmp_path)


CHILD = """
import sys
from pathlib import Path
from ablate.data import ensure_dataset
from ablate.spec import DataSpec
print(ensure_dataset(DataSpec(n=45, synth_seed=2), root=Path(sys.argv[1])))
"""


def test_two_processes_at_once_build_one_cache(tmp_path: Path) -> None:
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE)
        for _ in range(2)
    ]
    paths = [child.communicate(timeout=120)[0].decode().strip() for child in children]
    assert [child.returncode for child in children] == [0, 0]
    assert paths[0] == paths[1]
    assert len(open_cache(Path(paths[0])).labels) == 45
