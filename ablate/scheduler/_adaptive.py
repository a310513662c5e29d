"""Adaptive seeds: which extra runs a grid study's looks ask for now (pure policy).

Each comparison (a cell against its baseline cell) is judged by the study's sequential
design (``ablate._sequential``) on the **validation** objective of its complete runs, in the
seed order of ``seed_sequence``: the test split never chooses how many seeds run. A look is
judged only once all its paired runs are complete, and complete runs never change, so every
rerun (after a SIGKILL too) and every machine takes the same decisions. The baseline cell runs
every seed any of its comparisons needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ablate._sequential import Outcome, SequentialDesign, Verdict
from ablate.scheduler._ledger import Ledger
from ablate.spec import (
    StudySpec,
    TrialConfig,
    baseline_of,
    cell_key,
    cell_text,
    grid_cells,
    reachable_trials,
    seed_sequence,
    sequential_design,
)


@dataclass(frozen=True)
class Comparison:
    cell: dict[str, Any]
    baseline: dict[str, Any]
    verdict: Verdict
    stalled: bool  # a run its next look needs failed for good: the comparison stops there

    @property
    def text(self) -> str:
        v = self.verdict
        head = f"{cell_text(self.cell)} vs {cell_text(self.baseline)}"
        p = "" if v.p is None else f", p={v.p:.3g}"
        match v.outcome:
            case Outcome.DECIDED:
                state = f"decided at look {v.look} (n={v.seeds}{p})"
            case Outcome.MAX_REACHED:
                state = f"undecided at the maximum (n={v.seeds}{p})"
            case _ if self.stalled:
                state = f"stopped: a run of its look at n={v.seeds} failed for good"
            case Outcome.CONTINUE:
                state = f"undecided after look {v.look}{p}: running n={v.seeds}"
            case _:
                state = f"waiting for its first look (n={v.seeds})"
        return f"{head}: {state}"


class AdaptiveSeeds:
    def __init__(self, spec: StudySpec) -> None:
        design = sequential_design(spec)
        assert design is not None, "a study without adaptive_seeds"
        self.design: SequentialDesign = design
        self.sequence = seed_sequence(spec)
        self.declared = len(spec.seeds)
        self.cells = grid_cells(spec)
        trials = reachable_trials(spec)
        self._runs = {(cell_key(t.cell), t.seed): t for t in trials}
        self._keys = {at: t.run_key for at, t in self._runs.items()}  # run_key hashes a dump
        self.reachable_keys = set(self._keys.values())
        self._cell_keys = [cell_key(c) for c in self.cells]
        self.pairs = []  # (cell, its baseline cell), with their cell keys
        for cell, key in zip(self.cells, self._cell_keys, strict=True):
            base = baseline_of(spec, cell)
            if base is not None and cell_key(base) != key:
                self.pairs.append((cell, base, key, cell_key(base)))

    def run(self, cell: dict[str, Any], seed: int) -> TrialConfig:
        return self._runs[(cell_key(cell), seed)]

    def run_key(self, cell: dict[str, Any], seed: int) -> str:
        return self._keys[(cell_key(cell), seed)]

    def differences(
        self, mine_key: str, base_key: str, objective: dict[str, float]
    ) -> list[float]:
        """Cell minus baseline objective (by cell key), seed by seed in look order, up to the
        first seed either lacks a complete run of."""
        out = []
        for seed in self.sequence:
            mine = objective.get(self._keys[(mine_key, seed)])
            theirs = objective.get(self._keys[(base_key, seed)])
            if mine is None or theirs is None:
                break
            out.append(mine - theirs)
        return out

    def comparisons(
        self, ledger: Ledger, *, given_up: Callable[[str], bool] = lambda _key: False
    ) -> list[Comparison]:
        """Every comparison with its verdict on the complete runs in ``ledger``."""
        out = []
        for cell, base, mine_key, base_key in self.pairs:
            diffs = self.differences(mine_key, base_key, ledger.objective)
            verdict = self.design.verdict(diffs)
            open_ = verdict.outcome in (Outcome.WAITING, Outcome.CONTINUE)
            stalled = open_ and any(
                given_up(self._keys[(key, seed)])
                for seed in self.sequence[len(diffs) : verdict.seeds]
                for key in (mine_key, base_key)
            )
            out.append(Comparison(cell, base, verdict, stalled))
        return out

    def needed(self, ledger: Ledger) -> dict[str, int]:
        """Cell key → seeds it must run now (at least the declared ones)."""
        needed = dict.fromkeys(self._cell_keys, self.declared)
        for comparison in self.comparisons(ledger):
            for cell in (comparison.cell, comparison.baseline):
                key = cell_key(cell)
                needed[key] = max(needed[key], comparison.verdict.seeds)
        return needed

    def extra(self, ledger: Ledger) -> list[TrialConfig]:
        """The runs beyond the declared seeds that the looks ask for now, seed-major."""
        needed = self.needed(ledger)
        return [
            self._runs[(key, seed)]
            for index, seed in enumerate(self.sequence)
            if index >= self.declared
            for key in self._cell_keys
            if needed[key] > index
        ]

    def most_runs(self) -> int:
        """Runs at most: every cell at max_seeds."""
        return len(self.cells) * self.design.max_seeds
