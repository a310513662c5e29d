"""``resources.data_placement`` and the memory caps: validated, and never part of a run."""

from __future__ import annotations

import pytest

from ablate.errors import SpecError
from ablate.spec import grid_trials, parse_study

BASE = "name: x\ngrid: {model.modality: [social, fused]}\nseeds: [0, 1]\n"


def test_placement_and_caps_do_not_change_what_a_run_is() -> None:
    plain = [c.run_key for c in grid_trials(parse_study(BASE))]
    placed = parse_study(
        BASE + "resources: {data_placement: stream, host_memory_gb: 1.5, gpu_memory_gb: 3}\n"
    )
    assert placed.resources.data_placement == "stream"
    assert placed.resources.host_memory_gb == 1.5
    assert [c.run_key for c in grid_trials(placed)] == plain


def test_an_unknown_placement_names_the_field_and_the_choices() -> None:
    with pytest.raises(SpecError) as info:
        parse_study(BASE + "resources:\n  data_placement: gpu\n", where="studies/x.yaml")
    assert str(info.value) == (
        "Bad value at resources.data_placement in studies/x.yaml:5: Input should be 'auto', "
        "'resident' or 'stream' (got 'gpu')."
    )


def test_a_cap_must_be_positive() -> None:
    with pytest.raises(SpecError, match=r"resources.host_memory_gb in studies/x.yaml:4"):
        parse_study(BASE + "resources: {host_memory_gb: 0}\n", where="studies/x.yaml")
