"""The confirmation phase of a search, as the planner sees it: pure, from the ledger.

Nothing about the choice is stored: it is made again from the complete search trials each
time it is needed (``ablate.spec.chosen``), so that a rerun after a power cut, another
machine and ``ablate table`` all make the same one; a finished confirmation run is found
again by its run key.
"""

from __future__ import annotations

from ablate.scheduler._ledger import Ledger
from ablate.spec import StudySpec, TrialConfig, chosen, confirm_size, confirm_trials


class Confirmation:
    """The confirmation runs of a search study with ``search.confirm`` (none otherwise)."""

    def __init__(self, spec: StudySpec) -> None:
        self.spec = spec
        self.wanted = spec.search is not None and spec.search.confirm is not None
        self._cache: tuple[tuple[int, ...], list[TrialConfig]] = ((), [])

    def runs(self, ledger: Ledger) -> list[TrialConfig]:
        """Every confirmation run of the configurations the complete search trials choose
        (call it once the search is done: before, the choice may still change)."""
        picked = chosen(self.spec, ledger.scores.values())
        numbers = tuple(t.number for t in picked)
        if numbers != self._cache[0]:
            self._cache = (numbers, confirm_trials(self.spec, picked))
        return self._cache[1]

    def expected(self) -> int:
        """Confirmation runs to come before the search has chosen (top_k and the baseline at
        every seed)."""
        return confirm_size(self.spec) * len(self.spec.seeds)

    def search_keys(self, ledger: Ledger, keys: set[str]) -> set[str]:
        """Of ``keys``, those of the search's own trials: not a recorded confirmation run,
        nor one of the runs the complete trials choose (one just started, not read back)."""
        keys = keys - ledger.confirm
        if self.wanted and keys:
            keys -= {c.run_key for c in self.runs(ledger)}
        return keys
