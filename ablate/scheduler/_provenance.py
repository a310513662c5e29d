"""Where a number came from: host, code version, package versions."""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

_PACKAGES = ("ablate", "torch", "torchvision", "timm", "optuna", "numpy", "sqlalchemy")


def hostname() -> str:
    """This machine's name as recorded with trials ($ABLATE_HOST overrides, e.g. in containers)."""
    return os.environ.get("ABLATE_HOST") or socket.gethostname()


@functools.cache
def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@functools.cache
def git_commit(where: Path | None = None) -> str:
    """HEAD of the git checkout the study runs from, with '-dirty' if it has local changes."""
    cwd = str(where or Path.cwd())
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""
