"""The spec side of plugins: options are mappings here (typed where plugins are imported),
grid factors reach them, and the run keys of studies written before plugins do not change."""

from __future__ import annotations

from pathlib import Path

from ablate.spec import grid_trials, load_study, parse_study

REPO = Path(__file__).parents[2]

# Computed on the commit before plugin components (602e4d3): the same study file must name
# the same runs, or every finished run of an existing study would have to train again.
QUICKSTART_KEYS = [
    "8acd97c0e77559e81d1e",
    "a95b29964ff2ebd5e381",
    "684626a7d9bdf6c71641",
    "279254cff106650e8751",
    "ec41f1d7c2acfc3d9deb",
    "f646882a0299d77149bb",
]
# studies/fusion.yaml writes every old fusion option at its default: still left out of keys.
FUSION_FIRST_LAST = ("d95c9e68423de11fbe4c", "cc482e07847d9c7f8468")


def test_run_keys_of_existing_studies_do_not_change() -> None:
    quickstart, _ = load_study(REPO / "studies" / "quickstart.yaml")
    assert [t.run_key for t in grid_trials(quickstart)] == QUICKSTART_KEYS
    fusion, _ = load_study(REPO / "studies" / "fusion.yaml")
    keys = [t.run_key for t in grid_trials(fusion)]
    assert (keys[0], keys[-1]) == FUSION_FIRST_LAST


def test_an_option_written_away_from_its_old_default_is_part_of_the_key() -> None:
    spec = parse_study("name: x\nmodel: {fusion_options: {heads: 4}}\n")
    moved = parse_study("name: x\nmodel: {fusion_options: {heads: 8}}\n")
    plain = parse_study("name: x\n")
    [at_default], [changed], [base] = (grid_trials(s) for s in (spec, moved, plain))
    assert at_default.run_key == base.run_key != changed.run_key
    assert at_default.model.fusion_options == {"heads": 4}  # the worker still gets it


def test_plugin_names_and_options_are_not_checked_when_parsing() -> None:
    spec = parse_study(
        "name: x\nplugins: []\nmodel: {fusion: film, fusion_options: {hidden: 8}}\n"
        "loss: {terms: {focal: {weight: 0.5, gamma: 2.0}}}\n"
        "grid:\n  model.fusion_options.hidden: [8, 16]\n  loss.terms.focal.gamma: [1.0]\n"
    )
    trials = grid_trials(spec)
    assert [t.model.fusion_options["hidden"] for t in trials] == [8, 16]
    assert trials[0].loss.terms == {"focal": {"weight": 0.5, "gamma": 1.0}}
    assert trials[0].model.fusion == "film"
    assert len({t.run_key for t in trials}) == 2
