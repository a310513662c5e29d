"""Registries: names match the torch-free catalogue, unknown names suggest close ones."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from ablate.cli import app
from ablate.errors import UsageError
from ablate.models import (
    FUSIONS,
    VISIT_BRANCHES,
    build_model,
    day_sequence,
    describe_options,
    fusion_names,
    loss_term_names,
    visit_branch_names,
)
from ablate.spec import LossSpec
from tests.models.conftest import IMAGE_SIZE, tiny_model_spec


def test_spec_keeps_no_mirrored_component_names() -> None:
    import ablate.spec._catalog as catalog

    assert not hasattr(catalog, "FUSIONS") and not hasattr(catalog, "VISIT_BRANCHES")
    assert {"concat", "cross_attention", "dual"} <= set(fusion_names())
    assert set(visit_branch_names()) == {"cnn2d", "cnn1d", "lstm", "timm"}


def test_unknown_fusion_lists_close_matches() -> None:
    with pytest.raises(UsageError) as caught:
        FUSIONS.get("concta")
    assert str(caught.value) == (
        "Unknown fusion 'concta' at model.fusion; did you mean 'concat'? "
        "Run 'ablate models' to list them."
    )


def test_unknown_visit_branch_without_close_match_lists_all() -> None:
    with pytest.raises(UsageError) as caught:
        VISIT_BRANCHES.get("transformer")
    assert str(caught.value) == (
        "Unknown visit branch 'transformer' at model.visit.branch; choose one of: cnn2d, "
        "cnn1d, lstm, timm. Run 'ablate models' to list them."
    )


def test_unknown_timm_backbone_lists_close_matches() -> None:
    image = tiny_model_spec().image.model_copy(update={"backbone": "resnet19"})
    spec = tiny_model_spec(image=image)
    with pytest.raises(UsageError) as caught:
        build_model(spec, LossSpec(), image_size=IMAGE_SIZE)
    message = str(caught.value)
    assert message.startswith("Unknown timm backbone 'resnet19' at model.image.backbone; did you")
    assert "'resnet18'" in message
    assert message.endswith("Run 'ablate models' to list the options.")


def test_heads_must_divide_embed_dim() -> None:
    spec = tiny_model_spec(fusion="cross_attention", fusion_options={"heads": 5})
    with pytest.raises(UsageError, match=r"model\.embed_dim=32 is not divisible"):
        build_model(spec, LossSpec(), image_size=IMAGE_SIZE)


def test_describe_options_covers_every_option() -> None:
    listed = {(option.kind, option.name) for option in describe_options()}
    assert {("fusion", name) for name in fusion_names()} <= listed
    assert {("visit branch", name) for name in visit_branch_names()} <= listed
    assert {("loss term", name) for name in loss_term_names()} <= listed
    assert {("modality", name) for name in ("rs", "social", "fused")} <= listed
    assert all(option.description for option in describe_options())


def test_day_sequence_is_calendar_order() -> None:
    visits = torch.arange(7 * 26 * 24, dtype=torch.float32).reshape(1, 7, 26, 24)
    sequence = day_sequence(visits)
    assert sequence.shape == (1, 182, 24)
    for week, day_of_week in [(0, 0), (0, 6), (1, 0), (25, 6), (3, 4)]:
        assert torch.equal(sequence[0, week * 7 + day_of_week], visits[0, day_of_week, week])


@pytest.mark.slow  # builds resnet18-based models at 100×100 (a few seconds)
def test_cli_models_json_lists_every_fusion() -> None:
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    fusions = {row["name"]: row for row in rows if row["kind"] == "fusion"}
    assert tuple(fusions) == fusion_names()
    assert all(row["param_count"] > 0 and row["flops"] > 0 for row in fusions.values())
    assert fusions["concat"]["param_count"] < fusions["cross_attention"]["param_count"]
