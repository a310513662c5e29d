"""Samplers and pruners: every kind in the spec's tables builds and runs under ask/tell."""

from __future__ import annotations

import optuna
import pytest

from ablate.errors import SpecError
from ablate.scheduler._optuna import all_distributions, fixed_trial, open_study, sample_trial
from ablate.scheduler._pruners import PRUNER_BUILDERS, largest_epochs, make_pruner
from ablate.scheduler._samplers import SAMPLER_BUILDERS, make_sampler
from ablate.spec import StudySpec, parse_study
from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS


def tiny_search(*, sampler: str = "random", pruner: str = "none", extra: str = "") -> StudySpec:
    return parse_study(
        "name: tiny_search\n"
        "train: {epochs: 6}\n"
        "grid: {model.fusion: [concat, sum]}\n"
        "search:\n"
        "  n_trials: 4\n"
        f"  sampler: {sampler}\n"
        f"  pruner: {pruner}\n"
        "  params:\n"
        "    loss.distillation: {low: 0.0, high: 1.0, step: 0.25}\n"
        "    train.batch_size: {choices: [16, 32]}\n" + extra
    )


def _memory_study(spec: StudySpec) -> optuna.Study:
    return optuna.create_study(
        sampler=make_sampler(spec), pruner=make_pruner(spec), direction="maximize"
    )


class TestEveryKind:
    """The contract: each name a study file accepts has a builder that runs a few trials."""

    def test_the_scheduler_builds_every_kind_the_spec_accepts(self) -> None:
        assert list(SAMPLER_BUILDERS) == list(SAMPLER_KINDS)
        assert list(PRUNER_BUILDERS) == list(PRUNER_KINDS)

    @pytest.mark.parametrize("name", list(SAMPLER_KINDS))
    def test_sampler_asks_and_tells(self, name: str) -> None:
        spec = tiny_search(sampler=name)
        study = _memory_study(spec)
        seen = []
        for round_ in range(4):
            trial, cell, params = sample_trial(study, spec)
            assert cell["model.fusion"] in ("concat", "sum") and cell["seed"] == 0
            assert 0.0 <= params["loss.distillation"] <= 1.0
            assert params["train.batch_size"] in (16, 32)
            seen.append((cell["model.fusion"], *params.values()))
            study.tell(trial, float(round_))
        assert len(study.trials) == 4
        if name == "grid":  # no point twice before all 20 are visited
            assert len(set(seen)) == 4

    @pytest.mark.parametrize("name", list(PRUNER_KINDS))
    def test_pruner_judges_reported_epochs(self, name: str) -> None:
        options = {
            "none": "{kind: none}",
            "median": "{kind: median, startup_trials: 1, warmup_epochs: 0}",
            "percentile": "{kind: percentile, percentile: 50, startup_trials: 1, "
            "warmup_epochs: 0}",
            "successive_halving": "{kind: successive_halving}",
            "hyperband": "{kind: hyperband}",
            "patient": "{kind: patient, patience: 1, startup_trials: 1, warmup_epochs: 0}",
        }[name]
        spec = tiny_search(pruner=options)
        study = _memory_study(spec)
        for round_ in range(4):
            trial, _, _ = sample_trial(study, spec)
            pruned = False
            for epoch in range(1, spec.train.epochs + 1):  # steps are epochs, from 1
                # the first trial climbs, later ones sink: the worst should be cut short
                trial.report(epoch if round_ == 0 else 1.0 / (epoch + round_), epoch)
                if trial.should_prune():
                    pruned = True
                    break
            state = optuna.trial.TrialState.PRUNED if pruned else None
            study.tell(trial, None if pruned else 0.0, state=state)
        states = [t.state for t in study.trials]
        assert len(states) == 4
        if name == "none":
            assert optuna.trial.TrialState.PRUNED not in states
        elif name != "hyperband":  # its bracket may give a trial every epoch
            assert optuna.trial.TrialState.PRUNED in states


def test_grid_study_never_prunes_and_never_asks() -> None:
    spec = parse_study("name: g\ngrid: {model.fusion: [concat, sum]}\nseeds: [0, 1]\n")
    assert isinstance(make_pruner(spec), optuna.pruners.NopPruner)
    study = open_study(spec, optuna.storages.InMemoryStorage())
    trial = fixed_trial(
        study, {"model.fusion": "sum", "seed": 1}, all_distributions(spec), user_attrs={"k": 1}
    )
    assert (trial.params, trial.user_attrs) == ({"model.fusion": "sum", "seed": 1}, {"k": 1})


def test_hyperband_reaches_the_most_epochs_a_grid_factor_gives() -> None:
    spec = parse_study(
        "name: h\ntrain: {epochs: 30}\ngrid: {train.epochs: [2, 6]}\n"
        "search:\n  pruner: hyperband\n  params:\n    loss.distillation: {low: 0, high: 1}\n"
    )
    pruner = make_pruner(spec)
    assert isinstance(pruner, optuna.pruners.HyperbandPruner)
    assert pruner._max_resource == 6
    assert largest_epochs(spec) == 6


def test_hyperband_reaches_the_most_epochs_a_search_gives() -> None:
    ranged = tiny_search(extra="    train.epochs: {low: 3, high: 9, step: 1, integer: true}\n")
    listed = tiny_search(extra="    train.epochs: {choices: [4, 12, 8]}\n")
    assert (largest_epochs(ranged), largest_epochs(listed)) == (9, 12)
    assert largest_epochs(tiny_search()) == 6  # fixed: train.epochs itself


def test_hyperband_refuses_a_first_rung_beyond_every_trial() -> None:
    spec = tiny_search(pruner="{kind: hyperband, min_resource: 8}")
    with pytest.raises(SpecError, match=r"min_resource \(8\) is above the most epochs .* \(6\)"):
        make_pruner(spec)
