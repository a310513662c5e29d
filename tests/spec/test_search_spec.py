"""The search section: per-kind sampler and pruner options, with file:line messages."""

from __future__ import annotations

import pytest

from ablate.errors import SpecError
from ablate.spec import StudySpec, parse_study
from ablate.spec._catalog import PRUNERS, SAMPLERS
from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS

SEARCH = (
    "name: s\n"
    "search:\n"
    "  params:\n"
    "    loss.distillation: {low: 0.0, high: 1.0}\n"  # line 4
)


def _spec(extra: str) -> StudySpec:
    return parse_study(SEARCH + extra, where="studies/s.yaml")


def _error(extra: str) -> str:
    with pytest.raises(SpecError) as info:
        _spec(extra)
    return str(info.value)


def test_every_kind_validates_with_its_defaults() -> None:
    stepped = SEARCH.replace("high: 1.0}", "high: 1.0, step: 0.5}")
    for name in SAMPLER_KINDS:
        spec = parse_study(stepped + f"  sampler: {{kind: {name}}}\n")
        assert spec.search is not None and spec.search.sampler.kind == name
    for name in PRUNER_KINDS:
        spec = _spec(f"  pruner: {{kind: {name}}}\n")
        assert spec.search is not None and spec.search.pruner.kind == name


def test_catalogue_names_come_from_the_tables() -> None:
    assert (tuple(SAMPLER_KINDS), tuple(PRUNER_KINDS)) == (SAMPLERS, PRUNERS)
    for table in (SAMPLER_KINDS, PRUNER_KINDS):
        for name, entry in table.items():
            assert entry.options().kind == name and entry.description


def test_defaults_are_tpe_and_no_pruning() -> None:
    spec = _spec("")
    assert spec.search is not None
    assert (spec.search.sampler.kind, spec.search.pruner.kind) == ("tpe", "none")


def test_a_name_is_shorthand_for_its_kind() -> None:
    spec = _spec("  sampler: random\n  pruner: hyperband\n")
    assert spec.search is not None
    assert spec.search.sampler.kind == "random"
    assert spec.search.pruner.model_dump() == {
        "kind": "hyperband",
        "min_resource": 1,
        "reduction_factor": 3,
    }


def test_per_kind_options_are_typed() -> None:
    spec = _spec("  pruner: {kind: percentile, percentile: 10, startup_trials: 2}\n")
    assert spec.search is not None
    assert spec.search.pruner.model_dump() == {
        "kind": "percentile",
        "startup_trials": 2,
        "warmup_epochs": 5,
        "percentile": 10.0,
    }


def test_a_pruner_without_kind_is_median_as_before() -> None:
    spec = _spec("  pruner: {warmup_epochs: 2}\n")
    assert spec.search is not None
    assert (spec.search.pruner.kind, spec.search.pruner.warmup_epochs) == ("median", 2)


def test_an_option_of_another_kind_names_the_kinds_options() -> None:
    assert _error("  pruner: {kind: median, warmup_epochs: 5, percentile: 25}\n") == (
        "Unknown key 'percentile' at search.pruner in studies/s.yaml:5; "
        "the 'median' pruner takes only startup_trials, warmup_epochs."
    )
    assert _error("  pruner: {kind: none, patience: 3}\n") == (
        "Unknown key 'patience' at search.pruner in studies/s.yaml:5; "
        "the 'none' pruner takes no options."
    )


def test_a_misspelt_option_gets_a_suggestion_at_its_line() -> None:
    assert _error("  pruner:\n    kind: percentile\n    warmup_epoch: 5\n") == (
        "Unknown key 'warmup_epoch' at search.pruner in studies/s.yaml:7; "
        "did you mean 'warmup_epochs'?"
    )


def test_a_bad_option_value_is_placed_without_the_kind_tag() -> None:
    assert _error("  pruner: {kind: percentile, percentile: 120}\n") == (
        "Bad value at search.pruner.percentile in studies/s.yaml:5: "
        "Input should be less than 100 (got 120)."
    )


def test_an_unknown_kind_keeps_its_message() -> None:
    assert _error("  pruner:\n    warmup_epochs: 2\n    kind: medain\n") == (
        "Unknown pruner 'medain' at search.pruner.kind in studies/s.yaml:7; "
        "did you mean 'median'? Run 'ablate models' to list them."
    )
    assert _error("  sampler: tpee\n") == (
        "Unknown sampler 'tpee' at search.sampler in studies/s.yaml:5; "
        "did you mean 'tpe'? Run 'ablate models' to list them."
    )


def test_no_seed_for_a_sampler() -> None:
    assert _error("  sampler: {kind: tpe, seed: 1}\n") == (
        "Unknown key 'seed' at search.sampler in studies/s.yaml:5; "
        "the 'tpe' sampler takes only startup_trials."
    )


def test_grid_sampler_needs_a_step_for_every_range() -> None:
    assert _error("  sampler: grid\n") == (
        "Bad value at search.params['loss.distillation'] in studies/s.yaml:4: the grid sampler "
        "needs 'step' or 'choices' for every searched parameter; give 'loss.distillation' a "
        "step (e.g. step: 0.1) or list its choices."
    )
    text = SEARCH.replace("high: 1.0}", "high: 1.0, step: 0.5}") + "  sampler: grid\n"
    assert parse_study(text).search is not None


def test_a_spec_stored_with_the_flat_pruner_reads_back() -> None:
    """A search stored before per-kind options kept every option of every kind."""
    flat = {
        "kind": "median",
        "warmup_epochs": 5,
        "startup_trials": 8,
        "percentile": 25.0,
        "patience": 3,
        "min_resource": 1,
        "reduction_factor": 3,
    }
    stored = _spec("").model_dump(mode="json")
    stored["search"].update(sampler="tpe", pruner=flat)
    spec = StudySpec.model_validate(stored)
    assert spec.search is not None
    assert spec.search.pruner.model_dump() == {
        "kind": "median",
        "startup_trials": 8,
        "warmup_epochs": 5,
    }
    assert StudySpec.model_validate(spec.model_dump(mode="json")) == spec
