"""Provenance: ablate's code and the user's code, each from its own git checkout."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest

from ablate.scheduler import _provenance
from ablate.scheduler._provenance import (
    ablate_code,
    ablate_version,
    checkout_commit,
    package_versions,
    user_code,
    user_diff,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=T", *args],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def repo_with(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[Path, str]:
    repo = tmp_path / name
    repo.mkdir()
    git(repo, "init", "-q")
    for path, text in files.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    return repo, git(repo, "rev-parse", "HEAD")


CACHED = (
    _provenance._user_code,
    _provenance._user_diff,
    ablate_code,
    ablate_version,
    package_versions,
)


@pytest.fixture(autouse=True)
def _fresh_caches():
    for cached in CACHED:
        cached.cache_clear()
    yield
    for cached in CACHED:
        cached.cache_clear()


def test_user_code_is_the_study_file_s_checkout_not_the_current_folder(tmp_path, monkeypatch):
    paper, paper_head = repo_with(tmp_path, "paper", {"README.md": "paper\n"})
    _code, code_head = repo_with(
        tmp_path, "code", {"studies/fusion.yaml": "name: fusion\n", "model.py": "x = 1\n"}
    )
    monkeypatch.chdir(paper)  # ablate started from another repository
    assert user_code(Path("../code/studies/fusion.yaml")) == code_head != paper_head
    assert re.fullmatch(r"[0-9a-f]{40}", code_head)


def test_user_code_is_dirty_with_local_changes_or_an_uncommitted_study(tmp_path):
    code, head = repo_with(tmp_path, "code", {"studies/a.yaml": "name: a\n", "m.py": "x = 1\n"})
    (code / "studies" / "b.yaml").write_text("name: b\n")  # not committed
    assert user_code(code / "studies" / "a.yaml") == head
    assert user_code(code / "studies" / "b.yaml") == f"{head}-dirty"
    (code / "m.py").write_text("x = 2\n")
    _provenance._user_code.cache_clear()
    assert user_code(code / "studies" / "a.yaml") == f"{head}-dirty"


def test_user_code_outside_git_and_without_git(tmp_path, monkeypatch):
    (tmp_path / "fusion.yaml").write_text("name: fusion\n")
    assert user_code(tmp_path / "fusion.yaml") == ""
    code, _head = repo_with(tmp_path, "code", {"fusion.yaml": "name: fusion\n"})
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))  # git missing: nothing, no error
    assert user_code(code / "fusion.yaml") == ""


def test_user_diff_recovers_a_dirty_checkout(tmp_path):
    code, _head = repo_with(tmp_path, "code", {"studies/a.yaml": "name: a\n", "m.py": "x = 1\n"})
    assert user_diff(code / "studies" / "a.yaml") == ""  # clean
    (code / "m.py").write_text("x = 2\n")
    (code / "notes.txt").write_text("untracked: not part of the diff\n")
    _provenance._user_diff.cache_clear()
    diff = user_diff(code / "studies" / "a.yaml")
    assert "-x = 1\n+x = 2\n" in diff and "notes.txt" not in diff
    (code / "m.py").write_text("x = 3\n")
    assert user_diff(code / "studies" / "a.yaml") == diff  # asked once per process
    git(code, "checkout", "-q", "--", "m.py")
    (code / "patch.diff").write_text(diff)
    git(code, "apply", "patch.diff")  # the stored text recovers the changes
    assert (code / "m.py").read_text() == "x = 2\n"


def test_user_diff_is_cut_at_its_limit_and_says_so(tmp_path, monkeypatch):
    code, _head = repo_with(tmp_path, "code", {"a.yaml": "name: a\n", "big.txt": "0\n"})
    (code / "big.txt").write_text("".join(f"line {i}\n" for i in range(5000)))
    monkeypatch.setattr(_provenance, "DIFF_LIMIT_BYTES", 2000)
    diff = user_diff(code / "a.yaml")
    body, note = diff[: diff.index("[ablate:")], diff[diff.index("[ablate:") :]
    assert note == "[ablate: diff cut at 2,000 bytes; the changes are longer]\n"
    assert len(body.encode()) <= 2000 and body.endswith("\n")  # whole lines only


def test_user_diff_outside_git_and_without_git(tmp_path, monkeypatch):
    (tmp_path / "fusion.yaml").write_text("name: fusion\n")
    assert user_diff(tmp_path / "fusion.yaml") == ""
    code, _head = repo_with(tmp_path, "code", {"fusion.yaml": "name: fusion\n"})
    (code / "fusion.yaml").write_text("name: changed\n")
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert user_diff(code / "fusion.yaml") == ""


def test_a_package_in_an_ignored_virtualenv_has_no_commit(tmp_path):
    repo, head = repo_with(
        tmp_path, "paper", {".gitignore": ".venv/\n", "ablate/__init__.py": "", "x.py": ""}
    )
    installed = repo / ".venv" / "lib" / "site-packages" / "ablate"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("")
    assert checkout_commit(installed) == ""  # the paper's commit says nothing about ablate
    assert checkout_commit(repo / "ablate") == head
    (repo / "x.py").write_text("changed outside the package\n")
    assert checkout_commit(repo / "ablate") == head
    (repo / "ablate" / "__init__.py").write_text("changed = True\n")
    assert checkout_commit(repo / "ablate") == f"{head}-dirty"


def _versions(installed: dict[str, str]):
    real = metadata.version

    def version(name: str) -> str:
        if name in ("ablate", "ablate-studies"):
            if name not in installed:
                raise metadata.PackageNotFoundError(name)
            return installed[name]
        return real(name)

    return version


def test_ablate_version_is_the_renamed_distribution_s(monkeypatch):
    monkeypatch.setattr(metadata, "version", _versions({"ablate-studies": "0.2.0"}))
    assert ablate_version() == "0.2.0"
    assert package_versions()["ablate"].startswith("0.2.0")
    ablate_version.cache_clear()
    monkeypatch.setattr(metadata, "version", _versions({"ablate": "0.1.0"}))
    assert ablate_version() == "0.1.0"


def test_ablate_code_names_this_checkout_s_commit():
    repo = Path(__file__).resolve().parents[2]
    code = ablate_code()
    if git(repo, "ls-files", "ablate/__init__.py"):  # the tests run from ablate's checkout
        head = git(repo, "rev-parse", "HEAD")
        assert re.fullmatch(rf"{re.escape(ablate_version())} \(git {head}(-dirty)?\)", code)
    else:
        assert code == ablate_version()
    assert package_versions()["ablate"] == code


@pytest.mark.slow
def test_a_trial_of_a_dirty_checkout_keeps_its_diff(workdir):
    import sqlite3

    from typer.testing import CliRunner

    from ablate.cli import app
    from tests.conftest import tiny_study

    code, _first = repo_with(workdir, "code", {"model.py": "x = 1\n"})
    study = tiny_study(code / "tiny.yaml", epochs=1, modalities="[fused]", seeds="[0]")
    git(code, "add", "tiny.yaml")
    git(code, "commit", "-q", "-m", "study")
    head = git(code, "rev-parse", "HEAD")
    (code / "model.py").write_text("x = 2\n")
    result = CliRunner().invoke(app, ["run", str(study), "--cpu-slots", "1", "--no-live"])
    assert result.exit_code == 0, result.output
    con = sqlite3.connect(workdir / "db" / "ablate.sqlite")
    try:
        [(commit, diff)] = con.execute("SELECT git_commit, git_diff FROM ablate_trial").fetchall()
    finally:
        con.close()
    assert commit == f"{head}-dirty"
    assert diff.startswith("diff --git a/model.py b/model.py\n") and "+x = 2\n" in diff
