"""Cao et al.'s cross-modal losses."""

from __future__ import annotations

import pytest
import torch

from ablate.models import ModelOutput, compute_loss
from ablate.models._triplet import cross_modal_triplet
from ablate.spec import LossSpec


def test_consistency_is_one_minus_mean_cosine() -> None:
    rs = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    social = torch.tensor([[1.0, 0.0], [3.0, 0.0]])  # cosines 1 and 0
    out = ModelOutput(logits=torch.zeros(2, 9), embeddings={"rs": rs, "social": social})
    _, terms = compute_loss(out, torch.tensor([0, 1]), LossSpec(consistency=2.0))
    assert terms["consistency"].item() == pytest.approx(2.0 * 0.5)


def test_triplet_is_zero_without_a_negative() -> None:
    rs, social = torch.randn(4, 8), torch.randn(4, 8)
    value = cross_modal_triplet(rs, social, torch.zeros(4, dtype=torch.long), margin=0.2)
    assert value.item() == 0.0


def test_triplet_batch_hard_value() -> None:
    # Unit vectors: class 0 at e0, class 1 at e1, in both modalities; sample 2 (class 0) has
    # its social embedding at e1, on top of the class-1 samples.
    e0, e1 = torch.eye(2)
    rs = torch.stack([e0, e1, e0])
    social = torch.stack([e0, e1, e1])
    labels = torch.tensor([0, 1, 0])
    root2 = 2**0.5
    # rs anchors (vs social): 0 → hardest positive √2 (sample 2), nearest negative √2 → 0.2;
    #   1 → positive 0, negative 0 (sample 2's e1) → 0.2; 2 → like 0 → 0.2. Mean 0.2.
    # social anchors (vs rs): 0 → positive 0, negative √2 → 0; 1 → 0, √2 → 0;
    #   2 (at e1) → positive √2, negative 0 → √2 + 0.2. Mean (√2 + 0.2) / 3.
    expected = (0.2 + (root2 + 0.2) / 3) / 2
    value = cross_modal_triplet(rs, social, labels, margin=0.2)
    assert value.item() == pytest.approx(expected, rel=1e-5)


def test_two_branch_terms_skip_a_single_branch_model() -> None:
    out = ModelOutput(logits=torch.randn(3, 9), embeddings={"rs": torch.randn(3, 4)})
    loss = LossSpec(deep_supervision=1, distillation=1, consistency=1, triplet=1)
    _, terms = compute_loss(out, torch.tensor([0, 1, 2]), loss)
    assert list(terms) == ["ce"]
