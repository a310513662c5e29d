"""Where a number came from: host, ablate's code, the user's code, package versions.

Two pieces of code shape a trial: ablate itself (``ablate_code``: its version, and its commit
when it runs from a git checkout) and the user's (``user_code``: the commit of the checkout
that holds the study file, wherever ablate is started from), with ``user_diff``, the
uncommitted changes behind a '-dirty' commit. Each git call has a timeout and every answer is
cached, so a scheduler asks at most once per study file.
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
import threading
from importlib import metadata
from pathlib import Path

from ablate._plugins import ENTRY_POINT_GROUP

# The distribution is published as ablate-studies; a checkout installed before the rename is
# still called ablate.
_DISTRIBUTIONS = ("ablate-studies", "ablate")
_PACKAGES = ("torch", "torchvision", "timm", "optuna", "numpy", "sqlalchemy")
_GIT_TIMEOUT_S = 5
# Every trial row keeps the diff: a checkout holding changed data files must not put
# megabytes into each of a study's thousands of rows.
DIFF_LIMIT_BYTES = 1_000_000


def hostname() -> str:
    """This machine's name as recorded with trials ($ABLATE_HOST overrides, e.g. in containers)."""
    return os.environ.get("ABLATE_HOST") or socket.gethostname()


@functools.cache
def package_versions() -> dict[str, str]:
    """Python, platform, ablate (``ablate_code()``) and the packages a result depends on."""
    versions = {"python": sys.version.split()[0], "platform": platform.platform()}
    versions["ablate"] = ablate_code()
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    # Installed plugins (the ablate.plugins entry points) are imported by every study on this
    # machine; their versions are recorded here, not in the run identity, so that machines
    # with other plugins installed still recognise each other's runs of the same study.
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(point, "dist", None)
        label = f"{dist.name}=={dist.version}" if dist is not None else point.value
        versions[f"plugin {point.name}"] = label
    return versions


@functools.cache
def ablate_version() -> str:
    """ablate's installed version ('' when it is not installed, e.g. run from a bare source)."""
    for name in _DISTRIBUTIONS:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return ""


@functools.cache
def ablate_code() -> str:
    """ablate's version, plus its commit ('-dirty' with local changes) when it is imported
    from a git checkout: e.g. '0.1.0' or '0.1.0 (git 1f0c…e2-dirty)'."""
    commit = checkout_commit(Path(__file__).resolve().parents[1])
    version = ablate_version() or "unknown version"
    return f"{version} (git {commit})" if commit else version


def checkout_commit(package: Path) -> str:
    """The commit of the checkout that tracks the package folder ``package`` ('' if none):
    a virtualenv inside someone's repository does not count. Changes outside it do not either."""
    return _commit(package, must_track=package / "__init__.py", changes_under=package)


def user_code(study_path: Path) -> str:
    """The commit of the git checkout holding the study file, '-dirty' if it has local changes
    (or the study file is not committed); '' outside git."""
    return _user_code(Path(study_path).resolve())


@functools.cache
def _user_code(study_path: Path) -> str:
    folder = study_path if study_path.is_dir() else study_path.parent
    if not folder.is_dir():
        return ""
    return _commit(folder, dirty_unless_tracked=study_path if study_path.is_file() else None)


def user_diff(study_path: Path) -> str:
    """``git diff HEAD`` of the checkout holding the study file (tracked files, so that
    ``git apply`` on the commit of ``user_code`` recovers a '-dirty' one; the study file itself
    is stored with the study). Cut at ``DIFF_LIMIT_BYTES``, saying so; '' outside git."""
    return _user_diff(Path(study_path).resolve())


@functools.cache
def _user_diff(study_path: Path) -> str:
    folder = study_path if study_path.is_dir() else study_path.parent
    if not folder.is_dir() or _git(folder, "rev-parse", "HEAD") is None:
        return ""
    command = ["git", "diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"]
    try:
        git = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError:
        return ""
    hang = threading.Timer(_GIT_TIMEOUT_S, git.kill)
    hang.start()
    try:
        assert git.stdout is not None
        diff = git.stdout.read(DIFF_LIMIT_BYTES + 1)  # never more than the limit in memory
        cut = len(diff) > DIFF_LIMIT_BYTES
        if cut:
            git.kill()
        failed = git.wait() != 0 and not cut
    finally:
        hang.cancel()
        git.stdout.close()
    if failed:
        return ""
    if cut:
        kept = diff[: diff.rfind(b"\n", 0, DIFF_LIMIT_BYTES) + 1]  # whole lines only
        note = f"[ablate: diff cut at {DIFF_LIMIT_BYTES:,} bytes; the changes are longer]\n"
        diff = kept + note.encode()
    # PostgreSQL text holds no NUL; non-UTF-8 bytes become U+FFFD rather than fail the claim
    return diff.decode("utf-8", errors="replace").replace("\x00", "")


@functools.cache
def git_commit(where: Path | None = None) -> str:
    """HEAD of the git checkout at ``where`` (default: the current folder), '-dirty' if changed.

    Kept for callers of the old API; new code records ``user_code(study_path)``.
    """
    return _commit(Path(where or Path.cwd()))


def _commit(
    folder: Path,
    *,
    must_track: Path | None = None,
    changes_under: Path | None = None,
    dirty_unless_tracked: Path | None = None,
) -> str:
    head = _git(folder, "rev-parse", "HEAD")
    if head is None:
        return ""
    if (
        must_track is not None
        and _git(folder, "ls-files", "--error-unmatch", str(must_track)) is None
    ):
        return ""
    status = ["status", "--porcelain", "--untracked-files=no"]
    changes = _git(folder, *status, *(["--", str(changes_under)] if changes_under else []))
    dirty = bool(changes) or changes is None
    if dirty_unless_tracked is not None and not dirty:
        tracked = _git(folder, "ls-files", "--error-unmatch", str(dirty_unless_tracked))
        dirty = tracked is None
    return head + ("-dirty" if dirty else "")


def _git(folder: Path, *args: str) -> str | None:
    """git's output in ``folder`` (stripped), or None if git is missing, fails or hangs."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
