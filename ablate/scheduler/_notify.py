"""The notification hook: a shell command the study names (``resources.notify``) or the
command line does (``ablate run --notify``), run when the study finishes, fails or stalls,
with a short summary on its standard input, so that ``mail``, ``curl`` to a chat webhook or
``notify-send`` all work. A hook that fails is a warning, never a failed study.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from enum import StrEnum

from ablate.db import DEFAULT_STORAGE, redact
from ablate.scheduler._progress import RunSummary

HOOK_TIMEOUT_S = 60.0


class StudyEvent(StrEnum):
    FINISHED = "finished"  # every run complete
    FAILED = "finished with runs given up"
    STALLED = "stalled"  # trials run, but none finished an epoch for a while


@dataclass
class StallWatch:
    """Says once per stall that the running trials made no progress for ``stale_after_s``.

    Pure and clock-driven: the loop passes the time, a progress marker (anything that changes
    when an epoch ends or a trial starts) and whether trials run; after saying so once it
    waits for progress before it can say so again."""

    stale_after_s: float
    last_progress: float = 0.0
    marker: object = None
    told: bool = False

    def stalled(self, now: float, marker: object, *, running: bool) -> bool:
        if marker != self.marker or not running:  # waiting for a device is not a stall
            self.last_progress, self.marker, self.told = now, marker, False
            return False
        if self.told or now - self.last_progress <= self.stale_after_s:
            return False
        self.told = True
        return True


class Notifier:
    """The study's hook (None: nothing to run), with the clock and the stall watch."""

    def __init__(self, command: str | None, *, storage_url: str, stale_after_s: float) -> None:
        self.command, self._storage_url = command, storage_url
        self.started = time.monotonic()
        self.watch = StallWatch(stale_after_s, last_progress=self.started)

    def stall_due(self, marker: object, *, running: bool) -> bool:
        """Whether a stall is to be told now (never without a command)."""
        return self.command is not None and self.watch.stalled(
            time.monotonic(), marker, running=running
        )

    def stalled(self, summary: RunSummary, *, running: int) -> str | None:
        quiet = time.monotonic() - self.watch.last_progress
        return self._tell(summary, StudyEvent.STALLED, running=running, quiet_s=quiet)

    def finished(self, summary: RunSummary) -> str | None:
        """Tell how the study ended (a warning line if the hook failed); nothing when the user
        stopped it (they are there) or it had nothing to train."""
        if summary.stopped or summary.already_complete:
            return None
        event = StudyEvent.FAILED if summary.gave_up else StudyEvent.FINISHED
        return self._tell(summary, event)

    def _tell(
        self, summary: RunSummary, event: StudyEvent, *, running: int = 0, quiet_s: float = 0.0
    ) -> str | None:
        if self.command is None:
            return None
        text = summary_text(
            summary, event, elapsed_s=time.monotonic() - self.started,
            storage_url=self._storage_url, running=running, quiet_s=quiet_s,
        )  # fmt: skip
        return run_hook(self.command, text)


def summary_text(
    summary: RunSummary,
    event: StudyEvent,
    *,
    elapsed_s: float,
    storage_url: str,
    running: int = 0,
    quiet_s: float = 0.0,
) -> str:
    """The few lines the hook reads on its standard input (the first one is a subject)."""
    storage = "" if storage_url == DEFAULT_STORAGE else f" --storage '{redact(storage_url)}'"
    lines = [
        f"ablate: study {summary.study} {event}",
        f"{summary.complete}/{summary.total} complete, {summary.failed} failed attempt(s), "
        f"{summary.pruned} pruned" + (f", {running} running" if running else ""),
        f"elapsed: {_duration(elapsed_s)}",
    ]
    if event is StudyEvent.STALLED:
        lines.append(
            f"no running trial finished an epoch for {_duration(quiet_s)}: see 'ablate status "
            f"--study {summary.study}' and the trials' logs"
        )
    lines += [f"gave up on {item}" for item in summary.gave_up]
    lines.append(f"table: ablate table --study {summary.study}{storage}")
    return "\n".join(lines) + "\n"


def run_hook(command: str, text: str) -> str | None:
    """Run ``command`` in a shell with ``text`` on its standard input; a warning line if it
    fails, times out or cannot start (its output goes where ablate's goes)."""
    try:
        done = subprocess.run(
            command, shell=True, input=text, text=True, timeout=HOOK_TIMEOUT_S,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"warning: the notify command '{command}' did not end within {HOOK_TIMEOUT_S:g} s"
    except OSError as exc:
        return f"warning: the notify command '{command}' could not start: {exc}"
    if done.returncode != 0:
        said = (done.stderr or "").strip().splitlines()
        why = f": {said[-1]}" if said else ""
        return f"warning: the notify command '{command}' exited with {done.returncode}{why}"
    return None


def _duration(seconds: float) -> str:
    minutes, s = divmod(round(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min" if hours else f"{m} min {s:02d} s" if m else f"{s} s"


__all__ = ["Notifier", "StallWatch", "StudyEvent", "run_hook", "summary_text"]
