"""What runs next, how often a run may fail, and when a study is done: pure policy.

No processes, no database, no Optuna: the planner reads a ``Ledger`` (every attempt so far)
and the run keys this scheduler has running, and answers. Its unit tests need neither.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ablate.scheduler._adaptive import AdaptiveSeeds
from ablate.scheduler._confirm import Confirmation
from ablate.scheduler._ledger import Ledger
from ablate.spec import StudySpec, TrialConfig, cell_key, cell_text, resolve


@dataclass(frozen=True)
class Sample:
    """Ask the sampler for a new configuration of a search (the planner cannot sample)."""


class Planner:
    def __init__(
        self,
        spec: StudySpec,
        planned: list[TrialConfig],
        *,
        epoch_seconds: dict[str, tuple[float, int]] | None = None,
    ) -> None:
        """``planned``: a grid study's runs, seed-major (``grid_trials``); [] for a search.
        ``epoch_seconds``: cell key → (sum of epoch seconds, epochs), from earlier runs."""
        self.spec, self.planned = spec, planned
        self._epoch_seconds = dict(epoch_seconds or {})
        self._forgiven: Counter[str] = Counter()
        self.adaptive = AdaptiveSeeds(spec) if spec.adaptive_seeds is not None else None
        self._runs = planned  # with adaptive seeds: and the extra runs asked for so far
        self.confirmation = Confirmation(spec)

    # ----------------------------------------------------------------- counts
    @property
    def target(self) -> int:
        """Runs the study needs: cells × seeds (with the extra seeds its looks asked for at
        the last ``runs``), or the search's trials."""
        return len(self._runs) if self.spec.search is None else self.spec.search.n_trials

    def runs(self, ledger: Ledger) -> list[TrialConfig]:
        """A grid study's runs now: the planned ones and, with adaptive seeds, the extra ones
        its looks ask for on the complete runs in ``ledger``."""
        if self.adaptive is not None:
            self._runs = self.planned + self.adaptive.extra(ledger)
        return self._runs

    @property
    def reachable_keys(self) -> set[str]:
        """Run keys of every run this version of the study may train."""
        keys = {c.run_key for c in self.planned}
        return keys | self.adaptive.reachable_keys if self.adaptive is not None else keys

    def total(self, ledger: Ledger) -> int:
        """``target`` and, for a search with confirmation, its confirmation runs."""
        if not self.confirmation.wanted:
            return self.target
        return self.target + self._confirm_count(ledger)

    def phases(self, ledger: Ledger) -> tuple[tuple[str, int, int], ...]:
        """(phase, finished, total) of a search with confirmation: ('search', 60, 60),
        ('confirm', 4, 9); () for any other study."""
        if not self.confirmation.wanted:
            return ()
        runs = self.confirm_runs(ledger)
        confirmed = sum(c.run_key in ledger.complete for c in runs)
        return (
            ("search", self._search_finished(ledger), self.target),
            ("confirm", confirmed, self._confirm_count(ledger)),
        )

    def _confirm_count(self, ledger: Ledger) -> int:
        live = self.confirmation.search_keys(ledger, ledger.live)
        chosen = self.search_done(ledger) and not live
        return len(self.confirm_runs(ledger)) if chosen else self.confirmation.expected()

    def forgive(self, ledger: Ledger) -> None:
        """Failures so far no longer count against the retry cap (``--retry-failed``)."""
        self._forgiven = Counter(ledger.failures)

    def failures(self, run_key: str, ledger: Ledger) -> int:
        return ledger.failures[run_key] - self._forgiven[run_key]

    def exhausted(self, run_key: str, ledger: Ledger) -> bool:
        """Given up on: a usage error (the same config fails the same way every time) or
        more failures than ``resources.max_retries``; interruptions never count."""
        failures = self.failures(run_key, ledger)
        if run_key in ledger.usage and failures > 0:
            return True
        return failures > self.spec.resources.max_retries

    # ------------------------------------------------------------------- next
    def next(self, ledger: Ledger, running: set[str]) -> TrialConfig | Sample | None:
        """The run to start next (a grid run, a searched run to retry, or a new sample), or
        None when nothing is left to start now."""
        busy = ledger.complete | ledger.live | ledger.pruned | running
        if self.spec.search is None:
            pending = [
                c
                for c in self.runs(ledger)
                if c.run_key not in busy and not self.exhausted(c.run_key, ledger)
            ]
            return self.longest_of_first_seed(pending) if pending else None
        if self.search_done(ledger):
            return self._next_confirmation(ledger, running, busy)
        for run_key, values in ledger.last_params.items():  # retries of searched runs first
            if run_key in busy or self.exhausted(run_key, ledger):
                continue
            return self._searched(values)
        live = self.confirmation.search_keys(ledger, ledger.live | running)
        if self._search_finished(ledger) + len(live) >= self.spec.search.n_trials:
            return None
        return Sample()

    # ----------------------------------------------------------- confirmation
    def _search_finished(self, ledger: Ledger) -> int:
        return len(self.confirmation.search_keys(ledger, ledger.complete | ledger.pruned))

    def search_done(self, ledger: Ledger) -> bool:
        """A search has finished its trials (or given up on as many as it asked for)."""
        assert self.spec.search is not None
        n_trials = self.spec.search.n_trials
        given_up = sum(
            1 for k in ledger.last_params if self.exhausted(k, ledger) and k not in ledger.complete
        )
        return self._search_finished(ledger) >= n_trials or given_up >= n_trials

    def confirm_runs(self, ledger: Ledger) -> list[TrialConfig]:
        """A finished search's confirmation runs; [] while the search (or a trial of it that
        another machine still runs: it may be among the best) is not done, or without
        ``search.confirm``."""
        if not self.confirmation.wanted or not self.search_done(ledger):
            return []
        if self.confirmation.search_keys(ledger, ledger.live):
            return []
        return self.confirmation.runs(ledger)

    def _next_confirmation(
        self, ledger: Ledger, running: set[str], busy: set[str]
    ) -> TrialConfig | None:
        if self.confirmation.search_keys(ledger, running):
            return None  # the choice waits for the search's last trials
        pending = [
            c
            for c in self.confirm_runs(ledger)
            if c.run_key not in busy and not self.exhausted(c.run_key, ledger)
        ]
        return self.longest_of_first_seed(pending) if pending else None

    def _searched(self, values: dict) -> TrialConfig:
        assert self.spec.search is not None
        cell = {k: v for k, v in values.items() if k in self.spec.grid}
        searched = {k: v for k, v in values.items() if k in self.spec.search.params}
        return resolve(self.spec, seed=int(values["seed"]), cell=cell, params=searched)

    def longest_of_first_seed(self, pending: list[TrialConfig]) -> TrialConfig:
        """Seed by seed, so that a first full table comes early; within a seed the run
        expected to take longest, so that the cheap ones fill the gaps at the end instead of
        one long run finishing alone (bench_scheduler's mixed study: the two slots end
        within a second of each other). A cell not timed yet counts as longest: it runs early
        and teaches us its cost. Ties keep the grid order."""
        wave = [c for c in pending if c.seed == pending[0].seed]  # planned is seed-major
        return max(wave, key=self.expected_seconds)

    def expected_seconds(self, config: TrialConfig) -> float:
        total, count = self._epoch_seconds.get(cell_key(config.cell), (0.0, 0))
        return total / count * config.train.epochs if count else float("inf")

    @property
    def epoch_seconds(self) -> dict[str, tuple[float, int]]:
        """Cell key → (sum of epoch seconds, epochs) so far, this invocation's included."""
        return self._epoch_seconds

    def timed_epoch(self, config: TrialConfig, seconds: float) -> None:
        key = cell_key(config.cell)
        total, count = self._epoch_seconds.get(key, (0.0, 0))
        self._epoch_seconds[key] = (total + seconds, count + 1)

    def batch_for(self, config: TrialConfig, ledger: Ledger) -> TrialConfig:
        """The run's config, its batch halved once per out-of-memory failure when the study
        asks for that (the run key stays that of the planned config)."""
        ooms = ledger.ooms[config.run_key]
        if not ooms or not self.spec.train.halve_batch_on_oom:
            return config
        batch = max(1, config.train.batch_size // (2**ooms))
        train = config.train.model_copy(update={"batch_size": batch})
        return config.model_copy(update={"train": train})

    # ------------------------------------------------------------------- done
    def done(self, ledger: Ledger) -> bool:
        """Every planned run complete or given up on; a search: enough trials finished, or
        as many configurations failed for good as it asked for."""
        if self.spec.search is None:
            return all(
                c.run_key in ledger.complete or self.exhausted(c.run_key, ledger)
                for c in self.runs(ledger)
            )
        if not self.search_done(ledger):
            return False
        if not self.confirmation.wanted:
            return True
        if self.confirmation.search_keys(ledger, ledger.live):
            return False  # a late search trial may change the choice: confirm after it
        return all(
            c.run_key in ledger.complete or self.exhausted(c.run_key, ledger)
            for c in self.confirm_runs(ledger)
        )

    def gave_up(self, ledger: Ledger) -> list[TrialConfig]:
        """The planned (or confirmation) runs given up on (not complete, retries exhausted)."""
        runs = self.runs(ledger) if self.spec.search is None else self.confirm_runs(ledger)
        return [
            c
            for c in runs
            if self.exhausted(c.run_key, ledger) and c.run_key not in ledger.complete
        ]

    def gave_up_text(self, config: TrialConfig, ledger: Ledger) -> str:
        n = self.failures(config.run_key, ledger)
        text = f"{cell_text({**config.cell, **config.params})}, seed {config.seed} after {n} "
        text += f"failure{'s' * (n != 1)}"
        if config.run_key in ledger.usage:
            text += f" (not retried: {ledger.usage[config.run_key]})"
        return text

    def held_elsewhere(self, ledger: Ledger, running: set[str]) -> bool:
        """Some run is running on another machine (its result is still to come)."""
        return bool(ledger.live - running)
