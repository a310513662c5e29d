"""Tiny synthetic URFC folders and caches shared by the data tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ablate.data import prepare_cache, write_synthetic


@pytest.fixture(scope="session")
def raw_small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """90 labelled + 6 unlabelled synthetic regions in the raw layout (do not modify)."""
    raw = tmp_path_factory.mktemp("raw") / "urfc"
    write_synthetic(raw, n=90, seed=3, n_test=6)
    return raw


@pytest.fixture(scope="session")
def cache_small(raw_small: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The prepared cache of ``raw_small`` (do not modify)."""
    cache = tmp_path_factory.mktemp("cache") / "cache"
    prepare_cache(raw_small, cache)
    return cache


@pytest.fixture
def raw_copy(raw_small: Path, tmp_path: Path) -> Path:
    """A private copy of ``raw_small`` that a test may damage."""
    return Path(shutil.copytree(raw_small, tmp_path / "raw"))
