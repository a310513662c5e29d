"""Tiny specs and inputs: a test timm backbone at 32×32, embed_dim 32, batch of 4."""

from __future__ import annotations

import pytest
import torch

from ablate.spec import ImageBranchSpec, LossSpec, ModelSpec, VisitBranchSpec

IMAGE_SIZE = 32
EMBED_DIM = 32
BATCH = 4


def tiny_model_spec(**changes: object) -> ModelSpec:
    """A tiny fused model; ``changes`` override ModelSpec fields (``visit_branch`` too)."""
    branch = str(changes.pop("visit_branch", "cnn2d"))
    fields: dict[str, object] = {
        "image": ImageBranchSpec(backbone="test_resnet"),
        "visit": VisitBranchSpec(branch=branch, width=8, backbone="test_resnet"),
        "embed_dim": EMBED_DIM,
        **changes,
    }
    return ModelSpec(**fields)


@pytest.fixture
def inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(BATCH, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    visits = torch.rand(BATCH, 7, 26, 24, generator=generator) * 3
    labels = torch.tensor([0, 1, 2, 1])
    return images, visits, labels


@pytest.fixture
def plain_loss() -> LossSpec:
    """Every extra weight at 0: cross-entropy only."""
    return LossSpec(cen_l1=0.0)
