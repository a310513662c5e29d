"""Where the numbers come from: dates, code versions, machines, trials by state."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Engine

from ablate.db import redact
from ablate.report._collect import StudyData


def _counted(counter: Counter[str]) -> str:
    return ", ".join(f"{k or '(unknown)'} ×{n}" for k, n in counter.most_common()) or "none"


def provenance_lines(engine: Engine, data: StudyData) -> list[str]:
    """Plain lines for speaker notes and report appendices."""
    record, trials = data.record, data.trials
    starts = [t.started_at for t in trials]
    ends = [t.finished_at for t in trials if t.finished_at is not None]
    states = Counter(t.state for t in trials)
    runs = Counter(r.state for r in data.runs)
    lines = [
        f"Study '{record.name}' ({record.kind}) from {record.spec_path or 'an unknown file'}; "
        f"created {record.created_at:%Y-%m-%d %H:%M}, "
        f"spec updated {record.updated_at:%Y-%m-%d %H:%M} UTC.",
        f"Trials (attempts) by state: {_counted(states)}; runs by final state: {_counted(runs)}.",
    ]
    if starts:
        last = max(ends) if ends else max(starts)
        lines.append(f"Trials ran from {min(starts):%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC.")
    lines.append(f"Git commits: {_counted(Counter(t.git_commit[:12] for t in trials))}.")
    lines.append(f"Hosts: {_counted(Counter(t.host for t in trials))}.")
    devices = Counter(t.device for t in trials if t.device)
    if devices:
        lines.append(f"Devices: {_counted(devices)}.")
    url = engine.url.render_as_string(hide_password=False)
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    lines.append(f"Generated {generated} UTC from {redact(url)} by 'ablate report'.")
    return lines
