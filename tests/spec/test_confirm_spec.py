"""search.confirm in the study file: its shape, its checks (file:line messages), its baseline,
and what it changes about a stored search (nothing the search trials depend on)."""

from __future__ import annotations

import pytest

from ablate.errors import SpecError
from ablate.spec import StudySpec, compare_study, parse_study, resolve

HEAD = (
    "name: lw\n"
    "seeds: [0, 1, 2]\n"
    "search:\n"
    "  n_trials: 4\n"
    "  params:\n"
    "    loss.deep_supervision: {low: 0.0, high: 1.0}\n"
    "    loss.distillation: {low: 0.0, high: 1.0}\n"
)
BASELINE = "baseline: {loss.deep_supervision: 0.0, loss.distillation: 0.0}\n"


def _spec(confirm: str = "  confirm: {top_k: 2}\n", baseline: str = BASELINE) -> StudySpec:
    return parse_study(HEAD + confirm + baseline, where="studies/lw.yaml")


def _error(confirm: str = "  confirm: {top_k: 2}\n", baseline: str = BASELINE) -> str:
    with pytest.raises(SpecError) as info:
        _spec(confirm, baseline)
    return str(info.value)


def test_confirm_takes_top_k_and_the_baseline_fixes_every_searched_parameter() -> None:
    spec = _spec()
    assert spec.search is not None and spec.search.confirm is not None
    assert spec.search.confirm.top_k == 2
    assert spec.baseline == {"loss.deep_supervision": 0.0, "loss.distillation": 0.0}
    assert _spec(confirm="", baseline="").search.confirm is None  # type: ignore[union-attr]


def test_top_k_must_be_between_1_and_n_trials() -> None:
    assert _error("  confirm: {top_k: 5}\n") == (
        "Bad value at search.confirm.top_k in studies/lw.yaml:8: top_k (5) is above "
        "search.n_trials (4): a search cannot confirm more configurations than it tries; "
        "lower top_k or raise n_trials (got 5)."
    )
    assert _error("  confirm: {top_k: 0}\n").startswith(
        "Bad value at search.confirm.top_k in studies/lw.yaml:8: Input should be greater than "
        "or equal to 1"
    )
    assert _error("  confirm: {}\n") == (
        "Missing required key 'top_k' at search.confirm in studies/lw.yaml:8."
    )
    assert _error("  confirm: {top_k: 2, seeds: [0, 1]}\n") == (
        "Unknown key 'seeds' at search.confirm in studies/lw.yaml:8."  # the study's seeds
    )


def test_confirm_needs_a_baseline_value_for_every_searched_parameter() -> None:
    assert _error(baseline="") == (
        "search.confirm compares the confirmed configurations with the baseline, which needs "
        "a value for every searched parameter: add loss.deep_supervision: …, "
        "loss.distillation: … to baseline (e.g. the setting without the searched terms) "
        "(at search.confirm in studies/lw.yaml:8)."
    )
    assert "add loss.distillation: … to baseline" in _error(
        baseline="baseline: {loss.deep_supervision: 0.0}\n"
    )


def test_a_baseline_value_is_checked_like_the_setting_it_fixes() -> None:
    message = _error(baseline="baseline: {loss.deep_supervision: lots, loss.distillation: 0}\n")
    assert message.startswith(
        "Bad value at baseline['loss.deep_supervision'] in studies/lw.yaml:9"
    )
    typo = _error(baseline="baseline: {loss.deep_supervison: 0, loss.distillation: 0}\n")
    assert "did you mean 'loss.deep_supervision'?" in typo


def test_a_searched_baseline_without_confirm_says_what_it_is_for() -> None:
    assert _error(confirm="") == (
        "baseline names the searched parameter 'loss.deep_supervision', which only "
        "search.confirm uses (it compares the best configurations with the baseline over "
        "every seed); add confirm: {top_k: 3} to the search, or drop it from the baseline "
        "(at baseline['loss.deep_supervision'] in studies/lw.yaml:8)."
    )


def test_a_confirmation_run_is_a_run_of_its_own_and_search_run_keys_stay() -> None:
    spec, plain = _spec(), _spec(confirm="", baseline="")
    params = {"loss.deep_supervision": 0.3, "loss.distillation": 0.1}
    searched = resolve(spec, seed=0, cell={}, params=params)
    assert searched.run_key == resolve(plain, seed=0, cell={}, params=params).run_key
    confirming = resolve(spec, seed=0, cell={}, params=params, phase="confirm")
    assert confirming.run_key != searched.run_key


def test_adding_confirmation_or_seeds_to_a_search_keeps_its_trials() -> None:
    old = _spec(confirm="", baseline="").model_copy(update={"seeds": [0]})
    change = compare_study(old, _spec(), {"k1", "k2"})
    assert change.allowed(new_version=False) and change.kept == 2 and not change.search_changed
    moved = _spec().model_copy(update={"seeds": [1, 2]})  # the search seed itself changes
    assert compare_study(_spec(), moved, {"k1"}).search_changed
