"""timm-style contract: every tiny timm test model works as the image branch, or is refused
with a UsageError at build time (never a crash in the first training step)."""

from __future__ import annotations

import pytest
import timm
import torch

from ablate.errors import UsageError
from ablate.models import build_model
from ablate.spec import ImageBranchSpec, LossSpec, VisitBranchSpec
from tests.models.conftest import IMAGE_SIZE, tiny_model_spec

TEST_BACKBONES = [name for name in timm.list_models() if name.startswith("test_")]


@pytest.mark.parametrize("backbone", TEST_BACKBONES)
def test_any_timm_model_as_multiscale_image_branch(backbone: str, inputs) -> None:
    images, visits, _ = inputs
    # dual fusion reads a mid-depth map; multiscale reads three more stages.
    spec = tiny_model_spec(
        image=ImageBranchSpec(backbone=backbone, multiscale=True), fusion="dual"
    )
    model = build_model(spec, LossSpec(), image_size=IMAGE_SIZE)
    out = model(images, visits)
    out.logits.sum().backward()
    assert out.logits.shape == (images.shape[0], 9)


@pytest.mark.parametrize(("backbone", "works"), [("test_vit", True), ("test_convnext", False)])
def test_timm_visit_branch_input_size(backbone: str, works: bool, inputs) -> None:
    images, visits, _ = inputs
    visit = VisitBranchSpec(branch="timm", backbone=backbone)
    spec = tiny_model_spec(visit=visit, fusion="cross_attention")
    if works:  # a ViT pads 26×24 to its patch size
        model = build_model(spec, LossSpec(), image_size=IMAGE_SIZE)
        assert torch.isfinite(model(images, visits).logits).all()
        return
    with pytest.raises(UsageError) as caught:
        build_model(spec, LossSpec(), image_size=IMAGE_SIZE)
    assert str(caught.value).startswith(
        "timm model 'test_convnext' at model.visit.backbone cannot take a 7×26×24 input ("
    )
    assert str(caught.value).endswith("); choose another backbone.")
