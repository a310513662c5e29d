"""The planner's confirmation of a search, alone: which configurations it chooses, which runs
confirm them, and when the study is done. No processes, no database: plain attempts."""

from __future__ import annotations

import random
from datetime import datetime

from ablate.db.ledger import Attempt
from ablate.results import ErrorKind, TrialState
from ablate.scheduler._ledger import build_ledger
from ablate.scheduler._planner import Planner, Sample
from ablate.spec import StudySpec, TrialConfig, parse_study, resolve

A, B = "loss.deep_supervision", "loss.distillation"


def _search(seeds: str = "[0, 1, 2]", top_k: int = 2, baseline: str = "0.0") -> StudySpec:
    return parse_study(
        f"name: s\nseeds: {seeds}\nresources: {{max_retries: 1}}\nsearch:\n  n_trials: 4\n"
        f"  params:\n    {A}: {{low: 0.0, high: 1.0}}\n    {B}: {{low: 0.0, high: 1.0}}\n"
        f"  confirm: {{top_k: {top_k}}}\nbaseline: {{{A}: {baseline}, {B}: 0.0}}\n"
    )


SPEC = _search()
# (trial number, a, b, objective): trials 1 and 3 tie on the best objective
SEARCHED = [(0, 0.1, 0.9, 0.60), (1, 0.5, 0.5, 0.70), (2, 0.9, 0.1, 0.65), (3, 0.3, 0.2, 0.70)]


def _attempt(config: TrialConfig, state: TrialState, *, number: int = 0, objective=None,
             kind: ErrorKind = ErrorKind.NONE) -> Attempt:  # fmt: skip
    return Attempt(
        id=0, run_key=config.run_key, state=state, error_kind=kind, error_head="",
        cell=config.cell, params=config.params, seed=config.seed, number=number, host="h",
        pid=1, heartbeat_at=datetime(2026, 1, 1), optuna_trial_id=None, objective=objective,
        phase=config.phase,
    )  # fmt: skip


def _trial(spec: StudySpec, a: float, b: float, *, seed: int = 0, phase: str = "") -> TrialConfig:
    return resolve(spec, seed=seed, cell={}, params={A: a, B: b}, phase=phase)  # type: ignore[arg-type]


def _searched(spec: StudySpec = SPEC, rows=SEARCHED) -> list[Attempt]:
    return [
        _attempt(_trial(spec, a, b), TrialState.COMPLETE, number=n, objective=value)
        for n, a, b, value in rows
    ]


def _drain(planner: Planner, attempts: list[Attempt]) -> list:
    ledger, running, order = build_ledger(attempts), set(), []
    while (pick := planner.next(ledger, running)) is not None:
        order.append(pick)
        running.add(pick.run_key)
    return order


def _values(config: TrialConfig) -> tuple[float, float]:
    return (config.params[A], config.params[B])


def test_nothing_is_confirmed_before_the_search_has_finished() -> None:
    planner = Planner(SPEC, [])
    three = _searched(rows=SEARCHED[:3])
    assert isinstance(planner.next(build_ledger(three), set()), Sample)
    assert planner.confirm_runs(build_ledger(three)) == []
    assert not planner.done(build_ledger(three))
    assert planner.phases(build_ledger(three)) == (("search", 3, 4), ("confirm", 0, 9))


def test_the_best_k_by_objective_and_the_baseline_run_at_every_seed() -> None:
    planner = Planner(SPEC, [])
    order = _drain(planner, _searched())
    # trials 1 and 3 tie at 0.70: the lower number first; then the baseline a = b = 0
    assert [_values(c) for c in order[:3]] == [(0.5, 0.5), (0.3, 0.2), (0.0, 0.0)]
    assert [c.seed for c in order] == [0] * 3 + [1] * 3 + [2] * 3  # seed by seed
    assert {c.phase for c in order} == {"confirm"}
    search_trial = _trial(SPEC, 0.5, 0.5)  # the search trial with the same config and seed
    assert order[0].run_key != search_trial.run_key
    assert order[0].model_dump(exclude={"phase"}) == search_trial.model_dump(exclude={"phase"})
    assert len({c.run_key for c in order}) == 9


def test_the_choice_does_not_depend_on_the_order_attempts_are_read() -> None:
    planner = Planner(SPEC, [])
    expected = [c.run_key for c in planner.confirm_runs(build_ledger(_searched()))]
    for seed in range(5):
        shuffled = _searched()
        random.Random(seed).shuffle(shuffled)
        assert [c.run_key for c in planner.confirm_runs(build_ledger(shuffled))] == expected


def test_finished_confirmation_runs_are_kept_and_the_study_ends_when_all_are() -> None:
    planner = Planner(SPEC, [])
    runs = planner.confirm_runs(build_ledger(_searched()))
    done = [_attempt(c, TrialState.COMPLETE, number=10 + i) for i, c in enumerate(runs[:4])]
    live = [_attempt(runs[4], TrialState.INTERRUPTED)]  # resumes; not a failure
    ledger = build_ledger(_searched() + done + live)
    assert [c.run_key for c in _drain(planner, _searched() + done + live)] == [
        c.run_key for c in runs[4:]
    ]
    assert planner.phases(ledger) == (("search", 4, 4), ("confirm", 4, 9))
    assert planner.total(ledger) == 4 + 9 and not planner.done(ledger)
    rest = [_attempt(c, TrialState.COMPLETE) for c in runs[4:]]
    assert planner.done(build_ledger(_searched() + done + rest))


def test_a_failed_confirmation_run_is_retried_as_itself_then_given_up() -> None:
    planner = Planner(SPEC, [])
    first = planner.confirm_runs(build_ledger(_searched()))[0]
    once = [_attempt(first, TrialState.FAILED, kind=ErrorKind.EXCEPTION)]
    retry = planner.next(build_ledger(_searched() + once), set())
    assert retry.run_key == first.run_key and retry.phase == "confirm"
    twice = _searched() + once * 2  # max_retries: 1
    assert first.run_key not in {c.run_key for c in _drain(planner, twice)}
    assert planner.gave_up(build_ledger(twice)) == [first]
    assert planner.phases(build_ledger(twice))[0] == ("search", 4, 4)  # not a search trial


def test_a_search_trial_still_running_elsewhere_holds_the_choice() -> None:
    planner = Planner(SPEC, [])
    late = _attempt(_trial(SPEC, 0.7, 0.7), TrialState.RUNNING, number=4)  # a fifth trial
    ledger = build_ledger([*_searched(), late])
    assert planner.next(ledger, set()) is None and not planner.done(ledger)
    assert planner.held_elsewhere(ledger, set())


def test_more_seeds_confirm_the_same_configurations_at_the_new_seeds_too() -> None:
    before = Planner(SPEC, []).confirm_runs(build_ledger(_searched()))
    grown = _search(seeds="[0, 1, 2, 3, 4]")
    after = Planner(grown, []).confirm_runs(build_ledger(_searched(grown)))
    assert [c.run_key for c in after[:9]] == [c.run_key for c in before]  # finished ones kept
    assert {_values(c) for c in after[9:]} == {_values(c) for c in before}
    assert [c.seed for c in after[9:]] == [3] * 3 + [4] * 3


def test_a_chosen_baseline_is_not_trained_twice() -> None:
    spec = _search(top_k=2, baseline="0.5")  # the baseline (0.5, 0.0) is also searched …
    rows = [(0, 0.5, 0.0, 0.9), (1, 0.2, 0.2, 0.8), (2, 0.1, 0.1, 0.1), (3, 0.3, 0.3, 0.2)]
    runs = Planner(spec, []).confirm_runs(build_ledger(_searched(spec, rows)))
    assert [_values(c) for c in runs if c.seed == 0] == [(0.5, 0.0), (0.2, 0.2)]  # … and chosen


def test_a_search_without_confirmation_is_done_after_its_trials() -> None:
    spec = parse_study(
        f"name: s\nsearch:\n  n_trials: 4\n  params:\n    {A}: {{low: 0.0, high: 1.0}}\n"
    )
    attempts = [
        _attempt(resolve(spec, seed=0, cell={}, params={A: v}), TrialState.COMPLETE, objective=v)
        for v in (0.1, 0.2, 0.3, 0.4)
    ]
    planner = Planner(spec, [])
    assert (
        planner.done(build_ledger(attempts))
        and planner.next(build_ledger(attempts), set()) is None
    )
    assert planner.phases(build_ledger(attempts)) == () and planner.total(build_ledger([])) == 4
