"""The notification hook: a command told, on its standard input, that a study finished,
failed or stalled; a failing command is a warning, never a failed study."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ablate.scheduler._notify import StallWatch, StudyEvent, run_hook, summary_text
from ablate.scheduler._progress import RunSummary
from ablate.spec import parse_study
from tests.conftest import TINY_STUDY, tiny_study

SUMMARY = RunSummary(
    study="tiny", total=4, complete=3, failed=2, pruned=0, trained=4, already_complete=False,
    gave_up=("modality=rs, seed 0 after 2 failures",),
)  # fmt: skip


def test_a_stall_is_told_once_until_the_trials_progress_again():
    watch = StallWatch(10.0, last_progress=0.0, marker=(1, 0))
    assert not watch.stalled(5.0, (1, 0), running=True)
    assert not watch.stalled(10.0, (1, 0), running=True)  # not longer than stale_after yet
    assert watch.stalled(10.5, (1, 0), running=True)
    assert not watch.stalled(30.0, (1, 0), running=True)  # once per stall
    assert not watch.stalled(31.0, (1, 1), running=True)  # an epoch ended: the clock restarts
    assert not watch.stalled(40.0, (1, 1), running=True)
    assert watch.stalled(41.5, (1, 1), running=True)  # a second stall is told again


def test_waiting_for_a_device_is_not_a_stall():
    watch = StallWatch(10.0, last_progress=0.0)
    assert not watch.stalled(100.0, None, running=False)
    assert not watch.stalled(105.0, None, running=True)  # the clock restarted when it ran
    assert watch.stalled(111.0, None, running=True)


def test_the_summary_names_counts_time_table_and_given_up_runs():
    text = summary_text(
        SUMMARY, StudyEvent.FAILED, elapsed_s=3725, storage_url="sqlite:///db/ablate.sqlite"
    )
    assert text == (
        "ablate: study tiny finished with runs given up\n"
        "3/4 complete, 2 failed attempt(s), 0 pruned\n"
        "elapsed: 1 h 02 min\n"
        "gave up on modality=rs, seed 0 after 2 failures\n"
        "table: ablate table --study tiny\n"
    )
    stalled = summary_text(
        SUMMARY, StudyEvent.STALLED, elapsed_s=75, running=1, quiet_s=130,
        storage_url="postgresql+psycopg://me:secret@db/lab",
    )  # fmt: skip
    assert "3/4 complete, 2 failed attempt(s), 0 pruned, 1 running\n" in stalled
    assert "no running trial finished an epoch for 2 min 10 s" in stalled
    assert "secret" not in stalled and "--storage 'postgresql+psycopg://me:***@db/lab'" in stalled


def test_the_command_reads_the_summary_and_a_failing_one_is_one_warning(tmp_path: Path):
    assert run_hook(f"cat > {tmp_path}/got.txt", "hello\n") is None
    assert (tmp_path / "got.txt").read_text() == "hello\n"
    assert run_hook("echo no mail server >&2; exit 3", "hello\n") == (
        "warning: the notify command 'echo no mail server >&2; exit 3' exited with 3: "
        "no mail server"
    )


def test_the_study_can_name_the_command():
    text = TINY_STUDY.format(name="t", epochs=1, modalities="[fused]", seeds="[0]")
    spec = parse_study(text + "resources: {notify: 'mail -s ablate me@lab'}\n", where="t.yaml")
    assert spec.resources.notify == "mail -s ablate me@lab"


def _run(study: Path, *args: str):
    from ablate.cli import app

    base = ["run", str(study), "--cpu-slots", "1", "--threads-per-slot", "1", "--no-live"]
    return CliRunner().invoke(app, [*base, *args])


@pytest.mark.slow
def test_the_command_is_told_a_study_finished_and_the_command_line_wins(workdir: Path):
    study = tiny_study(
        workdir / "tiny.yaml", epochs=1, modalities="[fused]", seeds="[0]",
        extra=f"resources: {{notify: 'cat > {workdir}/study.txt'}}\n",
    )  # fmt: skip
    result = _run(study, "--notify", f"cat > {workdir}/got.txt")
    assert result.exit_code == 0, result.output
    lines = (workdir / "got.txt").read_text().splitlines()
    assert lines[:2] == [
        "ablate: study tiny finished",
        "1/1 complete, 0 failed attempt(s), 0 pruned",
    ]
    assert lines[2].startswith("elapsed: ") and lines[-1] == "table: ablate table --study tiny"
    assert not (workdir / "study.txt").exists()
    again = _run(study, "--notify", f"cat > {workdir}/again.txt")  # nothing to train: no news
    assert again.exit_code == 0 and not (workdir / "again.txt").exists()


@pytest.mark.slow
def test_the_study_command_is_told_of_given_up_runs(workdir: Path, monkeypatch):
    study = tiny_study(
        workdir / "tiny.yaml", epochs=1, modalities="[fused]", seeds="[0]",
        extra=f"resources: {{max_retries: 0, notify: 'cat > {workdir}/got.txt'}}\n",
    )  # fmt: skip
    monkeypatch.setenv("ABLATE_INJECT_FAULT", "raise@1")
    result = _run(study)
    assert result.exit_code == 1, result.output
    text = (workdir / "got.txt").read_text()
    assert text.startswith(
        "ablate: study tiny finished with runs given up\n0/1 complete, 1 failed"
    )
    assert "gave up on modality=fused, seed 0 after 1 failure" in text


@pytest.mark.slow
def test_a_stalled_trial_is_told_once_and_a_failing_command_warns(workdir: Path, monkeypatch):
    study = tiny_study(workdir / "tiny.yaml", epochs=2, modalities="[fused]", seeds="[0]")
    monkeypatch.setenv("ABLATE_INJECT_FAULT", "stall@1")
    monkeypatch.setenv("ABLATE_INJECT_STALL_S", "9")
    hook = f"cat >> {workdir}/got.txt; echo --- >> {workdir}/got.txt; exit 4"
    result = _run(study, "--stale-after", "5", "--notify", hook)
    assert result.exit_code == 0, result.output  # the failing hook never fails the study
    told = (workdir / "got.txt").read_text().split("---\n")
    assert told[0].startswith(
        "ablate: study tiny stalled\n0/1 complete, 0 failed attempt(s), 0 pruned, 1 running\n"
    )
    assert told[1].startswith("ablate: study tiny finished\n") and told[2:] == [""]
    assert f"warning: the notify command '{hook}' exited with 4" in result.output
