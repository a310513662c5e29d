"""docker/: no Docker engine in CI, so the files are checked by reading them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from ablate.db import redact

DOCKER = Path(__file__).parents[2] / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_postgres_service_with_a_volume_and_a_secret():
    spec = compose()
    postgres = spec["services"]["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pgdata:/var/lib/postgresql/data" in postgres["volumes"]
    assert "pgdata" in spec["volumes"]
    assert postgres["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/pg_password"
    assert spec["secrets"]["pg_password"]["file"] == "./pg_password.txt"
    assert "pg_password.txt" in (DOCKER / ".gitignore").read_text()


def test_one_worker_per_gpu_pinned_by_device_id():
    services = compose()["services"]
    workers = {name: s for name, s in services.items() if name.startswith("worker-gpu")}
    assert len(workers) >= 1
    pinned = []
    for worker in workers.values():
        [device] = worker["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
        pinned += device["device_ids"]
        assert worker["command"][:1] == ["run"] and "--gpus" in worker["command"]
    assert len(pinned) == len(set(pinned))  # no GPU given to two workers


def test_no_password_in_any_storage_url():
    for name, service in compose()["services"].items():
        url = service.get("environment", {}).get("ABLATE_STORAGE", "")
        assert redact(url) == url, name  # no user:password@
        if url:
            assert url.startswith("postgresql+psycopg://ablate@")
            assert service["environment"]["PGPASSWORD_FILE"] == "/run/secrets/pg_password"


def test_dockerfile_essentials():
    text = (DOCKER / "Dockerfile").read_text()
    assert text.splitlines()[5].startswith("FROM nvidia/cuda:")
    assert "python3.11" in text
    assert "USER ablate" in text  # not root
    assert 'pip install "/src[dashboard]"' in text
    assert "/usr/local/bin/ablate-entrypoint" in text and "STOPSIGNAL SIGINT" in text


def test_entrypoint_exports_the_secret_and_runs_ablate(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret")
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "ablate").write_text('#!/bin/sh\necho "args=$* pw=$PGPASSWORD"\n')
    (fake_bin / "ablate").chmod(0o755)
    done = subprocess.run(
        ["sh", str(DOCKER / "entrypoint.sh"), "status", "--study", "fusion"],
        env={"PATH": f"{fake_bin}:/usr/bin:/bin", "PGPASSWORD_FILE": str(secret)},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout == "args=status --study fusion pw=s3cret\n"
