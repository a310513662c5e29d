"""Study files → typed spec: exact messages for bad input, resolution of grid cells."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.errors import NotFoundError, SpecError
from ablate.spec import StudySpec, grid_cells, grid_trials, load_study, parse_study, resolve

STUDIES = sorted(Path(__file__).parents[2].joinpath("studies").glob("*.yaml"))


def _error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        parse_study(text, where="studies/x.yaml")
    return str(info.value)


def test_unknown_key_names_file_line_and_suggestion() -> None:
    text = "name: x\nmodel:\n  modality: fused\n  fuson: concat\n"
    assert (
        _error(text) == "Unknown key 'fuson' at model in studies/x.yaml:4; did you mean 'fusion'?"
    )


def test_unknown_top_level_key() -> None:
    assert _error("name: x\nsedes: [1]\n") == (
        "Unknown key 'sedes' at the top level in studies/x.yaml:2; did you mean 'seeds'?"
    )


def test_wrong_type_names_the_field_and_value() -> None:
    text = "name: x\ntrain:\n  epochs: many\n"
    assert _error(text) == (
        "Bad value at train.epochs in studies/x.yaml:3: Input should be a valid integer, "
        "unable to parse string as an integer (got 'many')."
    )


def test_out_of_range_value() -> None:
    text = "name: x\ntrain: {epochs: 0}\n"
    assert _error(text) == (
        "Bad value at train.epochs in studies/x.yaml:2: Input should be greater than or equal "
        "to 1 (got 0)."
    )


def test_unknown_grid_path() -> None:
    text = "name: x\ngrid:\n  model.fuson: [concat]\n"
    assert _error(text) == (
        "Unknown setting 'model.fuson': 'model' has no field 'fuson'; did you mean 'fusion'? "
        "(at grid['model.fuson'] in studies/x.yaml:3)."
    )


def test_baseline_must_be_a_grid_cell() -> None:
    text = "name: x\ngrid:\n  model.fusion: [concat, sum]\nbaseline: {model.fusion: max}\n"
    assert _error(text) == (
        "baseline value 'max' for 'model.fusion' is not in the grid ['concat', 'sum'] "
        "(at baseline['model.fusion'] in studies/x.yaml:4)."
    )


def test_cache_source_needs_a_path() -> None:
    assert _error("name: x\ndata: {source: cache}\n") == (
        "Bad value at data in studies/x.yaml:2: source 'cache' needs 'path:' naming a folder "
        "made by 'ablate data prepare'."
    )


def test_invalid_yaml_and_non_mapping() -> None:
    assert _error("name: [x\n").startswith("studies/x.yaml:2 is not valid YAML:")
    assert _error("- a\n- b\n") == (
        "studies/x.yaml must be a YAML mapping with at least 'name:'; got list."
    )


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        load_study(tmp_path / "nope.yaml")


def test_spec_is_frozen() -> None:
    spec = parse_study("name: x\n")
    with pytest.raises(ValueError):
        spec.name = "y"  # type: ignore[misc]


def test_grid_cells_and_trials_are_cells_times_seeds() -> None:
    spec = parse_study(
        "name: x\ngrid:\n  model.modality: [rs, fused]\n  loss.distillation: [0.0, 0.2]\n"
        "seeds: [0, 1, 2]\n"
    )
    assert len(grid_cells(spec)) == 4
    trials = grid_trials(spec)
    assert len(trials) == 12
    assert len({t.run_key for t in trials}) == 12
    first = trials[0]
    assert first.model.modality == "rs" and first.loss.distillation == 0.0 and first.seed == 0


def test_run_key_depends_on_config_and_seed_only() -> None:
    spec = parse_study("name: x\n")
    other_name = parse_study("name: y\n")
    a = resolve(spec, seed=0, cell={})
    assert a.run_key == resolve(other_name, seed=0, cell={}).run_key
    assert a.run_key != resolve(spec, seed=1, cell={}).run_key
    assert a.run_key != resolve(spec, seed=0, cell={"train.lr": 0.5}).run_key


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_shipped_studies_validate(path: Path) -> None:
    spec, _ = load_study(path)
    assert isinstance(spec, StudySpec)
    assert spec.name == path.stem


def test_duplicate_grid_key_names_key_file_and_both_lines() -> None:
    text = "name: x\ngrid:\n  model.fusion: [concat, sum]\n  model.fusion: [max]\n"
    assert _error(text) == (
        "Duplicate key 'model.fusion' at grid in studies/x.yaml: lines 3 and 4; keep one of "
        "them (YAML would silently drop the first)."
    )


def test_duplicate_top_level_and_flow_keys() -> None:
    assert _error("name: x\nseeds: [0]\nname: y\n") == (
        "Duplicate key 'name' at the top level in studies/x.yaml: lines 1 and 3; keep one of "
        "them (YAML would silently drop the first)."
    )
    assert _error("name: x\ntrain: {epochs: 2, epochs: 3}\n").startswith(
        "Duplicate key 'epochs' at train in studies/x.yaml: lines 2 and 2;"
    )


def test_merge_keys_and_shared_aliases_are_not_duplicates() -> None:
    spec = parse_study(
        "name: x\nsearch:\n  params:\n    loss.distillation: &p {low: 0.0, high: 1.0}\n"
        "    loss.deep_supervision: {<<: *p, high: 0.5}\n"
        "    loss.temperature: *p\n"
    )
    assert spec.search is not None
    assert spec.search.params["loss.deep_supervision"].high == 0.5
    assert spec.search.params["loss.temperature"].high == 1.0


def test_recursive_alias_is_one_line() -> None:
    assert _error("name: x\na: &x [*x]\n") == (
        "Recursive YAML alias at a[0] in studies/x.yaml:2: the anchored value contains "
        "itself; copy the values instead of the alias."
    )


def test_alias_bomb_is_refused() -> None:
    text = "name: x\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 7):
        text += f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n"
    assert _error(text) == (
        "studies/x.yaml expands to over 100,000 values through YAML aliases; a study file "
        "needs far fewer."
    )


def test_control_character_names_its_line() -> None:
    assert _error("name: x\ndescription: a\x07b\n") == (
        "studies/x.yaml:2 is not valid YAML: character #x0007 is not allowed; delete it or "
        "write it as an escape in a double-quoted string."
    )


def test_study_file_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: x\ndescription: café\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_study(path)
    assert str(info.value) == (
        f"Study file {path}:2 is not UTF-8 text (byte 0xe9); save it as UTF-8."
    )


def test_study_path_that_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load_study(tmp_path)
    assert str(info.value) == f"Study file {tmp_path} is a folder; name a .yaml file in it."


@pytest.mark.parametrize("seed", [-1, 2**32, 2**64])
def test_seed_out_of_numpy_range_names_seed_and_range(seed: int) -> None:
    assert _error(f"name: x\nseeds:\n  - 0\n  - {seed}\n") == (
        "Bad value at seeds[1] in studies/x.yaml:4: a seed must be an integer from 0 to "
        f"4,294,967,295 (numpy's limit); pick one in that range (got {seed})."
    )


def test_seed_limits_are_inclusive_of_zero_and_2_32_minus_1() -> None:
    assert parse_study("name: x\nseeds: [0, 4294967295]\n").seeds == [0, 2**32 - 1]


@pytest.mark.parametrize("value", ["true", "'3'", "2.0"])
def test_seed_must_be_a_plain_integer(value: str) -> None:
    assert _error(f"name: x\nseeds: [{value}]\n").startswith(
        "Bad value at seeds[0] in studies/x.yaml:2: Input should be a valid integer (got "
    )
