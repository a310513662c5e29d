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


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP threads
    spin-wait on each other (the suite ran 5× slower); restored after each test."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
