"""What changed between the study that last ran and the study file now, and what that means
for the finished runs.

A run belongs to a study's current version when the current file would train exactly it:
for a grid study, its run key (resolved config + seed) is one of the planned runs; for a
search study, the search itself (space, sampler, pruner, objective, fixed settings, the seed
it trains at) is unchanged. Growing a study (more seeds, more grid values, more trials) keeps
every finished run; any other change leaves some finished runs out, and the user must say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ablate.spec._resolve import grid_trials, reachable_trials
from ablate.spec._study import StudySpec

# The parts of a study that decide what its runs compute, and which runs there are.
RUN_SECTIONS = (
    "data", "model", "loss", "train", "objective", "grid", "seeds", "search", "plugins", "task",
    "code", "adaptive_seeds",
)  # fmt: skip


@dataclass(frozen=True)
class StudyChange:
    name: str
    settings: tuple[tuple[str, Any, Any], ...]  # (dotted path, before, now)
    kept: int  # finished runs that still belong
    left_out: int  # finished runs that no longer belong
    new_runs: int | None  # planned runs not finished yet (None: a search)
    search_changed: bool = False

    @property
    def code_only(self) -> bool:
        """Only the user's code changed (a plugin or task file edited): its runs are new
        runs, and the old ones stay out of the tables without asking."""
        return bool(self.settings) and all(p.startswith("code.") for p, _, _ in self.settings)

    @property
    def needs_new_version(self) -> bool:
        return self.left_out > 0 and not self.code_only

    def allowed(self, *, new_version: bool) -> bool:
        """May the study run? A search never changes (a new name starts a new search)."""
        return not self.needs_new_version or (new_version and not self.search_changed)

    @property
    def changed(self) -> bool:
        return bool(self.settings)

    def settings_text(self, *, limit: int = 6) -> str:
        parts = [f"{path} {_show(old)} → {_show(new)}" for path, old, new in self.settings]
        more = len(parts) - limit
        return "; ".join(parts[:limit]) + (f"; and {more} more" if more > 0 else "")

    def refusal(self, where: str) -> str:
        """The one-line error when the change needs ``--new-version``."""
        if self.search_changed:
            return (
                f"Study '{self.name}' in {where} changed since it last ran "
                f"({self.settings_text()}); its {self.left_out} finished search trial(s) were "
                "sampled from the old search and would mislead the sampler. Give the study a "
                "new name to start a new search (the old one stays in the database)."
            )
        return (
            f"Study '{self.name}' in {where} changed since it last ran ({self.settings_text()}): "
            f"{self.left_out} finished run(s) no longer belong to it (they stay in the "
            f"database, left out of its tables), {self.kept} still do, {self.new_runs} run(s) "
            "would train. Rerun with --new-version to run the changed study, or give it a "
            "new name."
        )

    def note(self) -> str:
        """What an accepted change means, for the run's log ('' when nothing changed)."""
        if not self.changed:
            return ""
        if self.code_only:
            files = ", ".join(p.removeprefix("code.") for p, _, _ in self.settings)
            todo = f"; {self.new_runs} run(s) to train" if self.new_runs is not None else ""
            return (
                f"{self.left_out} finished run(s) used an older {files}: kept, not mixed"
                f"{todo} with the current code"
            )
        head = f"study changed since it last ran: {self.settings_text()}"
        runs = f"{self.kept} finished run(s) reused"
        if self.left_out:
            runs += f", {self.left_out} left out of its tables (kept in the database)"
        if self.new_runs is not None:
            runs += f", {self.new_runs} run(s) to train"
        return f"{head}; {runs}"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(unset)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_MISSING = object()


def _flatten(tree: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(tree, dict) and tree and prefix != "grid":
        for key, value in tree.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif prefix == "grid" and isinstance(tree, dict):
        for key, value in tree.items():  # a grid factor is one setting: its list of values
            out[f"grid.{key}"] = value
    else:
        out[prefix] = tree


def changed_settings(old: StudySpec, new: StudySpec) -> tuple[tuple[str, Any, Any], ...]:
    """Dotted paths whose value differs, in the run-deciding sections only."""
    before: dict[str, Any] = {}
    now: dict[str, Any] = {}
    _flatten(old.model_dump(mode="json", include=set(RUN_SECTIONS)), "", before)
    _flatten(new.model_dump(mode="json", include=set(RUN_SECTIONS)), "", now)
    paths = sorted(set(before) | set(now))
    return tuple(
        (p, before.get(p, _MISSING), now.get(p, _MISSING))
        for p in paths
        if before.get(p, _MISSING) != now.get(p, _MISSING)
    )


def search_signature(spec: StudySpec) -> dict[str, Any]:
    """Everything a search's trials depend on, except what may grow (trials, later seeds)
    and its confirmation."""
    sections = {"data", "model", "loss", "train", "objective", "grid", "search", "plugins",
                "task", "code"}  # fmt: skip
    dumped = spec.model_dump(mode="json", include=sections)
    if dumped.get("search"):
        dumped["search"].pop("n_trials", None)
        dumped["search"].pop("confirm", None)  # what runs after the search, not the search
    dumped["seed"] = spec.seeds[0]
    return dumped


def compare_study(old: StudySpec | None, new: StudySpec, finished: set[str]) -> StudyChange:
    """The change from ``old`` (the stored study, None if new) to ``new``, given the run keys
    of the study's finished runs."""
    settings = changed_settings(old, new) if old is not None else ()
    if new.search is not None:
        changed = old is not None and search_signature(old) != search_signature(new)
        left_out = len(finished) if changed else 0
        return StudyChange(
            new.name, settings, len(finished) - left_out, left_out, None, search_changed=changed
        )
    plan = {config.run_key for config in grid_trials(new)}
    belong = {config.run_key for config in reachable_trials(new)}  # adaptive seeds' runs too
    return StudyChange(
        new.name, settings, len(finished & belong), len(finished - belong), len(plan - finished)
    )
