"""Shared fixtures: tiny study files and temporary databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

REPO = Path(__file__).parents[1]

TINY_STUDY = """\
name: {name}
description: tiny study for tests
data: {{source: synthetic, n: 270, image_size: 16, visit_transform: log1p}}
model:
  modality: fused
  image: {{backbone: test_resnet}}
  visit: {{branch: cnn2d, width: 8}}
  fusion: concat
  embed_dim: 16
train: {{epochs: {epochs}, batch_size: 64, lr: 3.0e-3, weight_decay: 0.01}}
grid:
  model.modality: {modalities}
seeds: {seeds}
baseline: {{model.modality: fused}}
"""


def tiny_study(
    path: Path,
    *,
    name: str = "tiny",
    epochs: int = 2,
    modalities: str = "[social, fused]",
    seeds: str = "[0, 1]",
    extra: str = "",
) -> Path:
    path.write_text(
        TINY_STUDY.format(name=name, epochs=epochs, modalities=modalities, seeds=seeds) + extra
    )
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary working folder holding db/, so tests never touch the repo's database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ABLATE_STORAGE", raising=False)
    return tmp_path


def require(condition: bool, reason: str) -> None:
    """Skip when a tool/service is missing, unless CI demands it (then fail)."""
    if condition:
        return
    if os.environ.get("ABLATE_REQUIRE_TOOLS") or os.environ.get("ABLATE_REQUIRE_SERVICES"):
        pytest.fail(f"required in CI but missing: {reason}")
    pytest.skip(reason)


PG_ADMIN_URL = os.environ.get(
    "ABLATE_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _require_services() -> bool:
    return os.environ.get("ABLATE_REQUIRE_SERVICES") == "1"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database ``ablate_test_<random>``, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"ablate_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = f"PostgreSQL at {PG_ADMIN_URL} is not reachable ({exc.__class__.__name__})"
        if _require_services():
            pytest.fail(f"{reason} and ABLATE_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
