"""Every modality × fusion × visit branch trains: forward, loss, backward, gradients."""

from __future__ import annotations

import pytest
import torch

from ablate.models import (
    FUSIONS,
    VISIT_BRANCHES,
    build_model,
    compute_loss,
    count_flops,
    count_parameters,
)
from ablate.spec import LossSpec
from tests.models.conftest import BATCH, IMAGE_SIZE, tiny_model_spec

# Every registered fusion and visit branch (the registry is the one list of them).
# Fusions that read feature maps, tokens or mid maps depend on the visit branch's layout, so
# they are crossed with every visit branch; the embedding-level ones need cnn2d only.
MAP_FUSIONS = ("cross_attention", "channel_exchange", "dual")
CASES = [
    ("rs", "concat", "cnn2d"),
    *[("social", "concat", branch) for branch in VISIT_BRANCHES.names()],
    *[("fused", fusion, "cnn2d") for fusion in FUSIONS.names()],
    *[("fused", "concat", branch) for branch in VISIT_BRANCHES.names() if branch != "cnn2d"],
    *[
        ("fused", fusion, branch)
        for fusion in MAP_FUSIONS
        for branch in VISIT_BRANCHES.names()
        if branch != "cnn2d"
    ],
]
ALL_TERMS = LossSpec(deep_supervision=0.5, distillation=0.5, consistency=0.1, triplet=0.1)


def _has_gradient(module: torch.nn.Module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


@pytest.mark.parametrize(("modality", "fusion", "branch"), CASES, ids=lambda v: str(v))
def test_forward_backward(modality: str, fusion: str, branch: str, inputs) -> None:
    images, visits, labels = inputs
    spec = tiny_model_spec(modality=modality, fusion=fusion, visit_branch=branch)
    model = build_model(spec, ALL_TERMS, image_size=IMAGE_SIZE)
    out = model(images, visits)
    total, terms = compute_loss(out, labels, ALL_TERMS)
    total.backward()

    assert out.logits.shape == (BATCH, 9)
    assert torch.isfinite(total)
    assert all(torch.isfinite(value) for value in terms.values())
    expected_branches = {"rs": ["rs"], "social": ["social"], "fused": ["rs", "social"]}[modality]
    assert sorted(model.branches) == sorted(expected_branches)
    for name in expected_branches:
        assert _has_gradient(model.branches[name]), f"no gradient reaches the {name} branch"
    if modality == "fused":
        assert set(terms) >= {"ce", "deep_supervision", "distillation", "consistency", "triplet"}
        assert set(out.branch_logits) == {"rs", "social"}
    else:
        assert set(terms) == {"ce"}  # two-branch terms are inactive for one modality
        assert out.branch_logits == {}


def test_branch_heads_only_when_a_loss_reads_them(plain_loss: LossSpec) -> None:
    spec = tiny_model_spec()
    without = build_model(spec, plain_loss, image_size=IMAGE_SIZE)
    with_heads = build_model(spec, LossSpec(deep_supervision=0.3), image_size=IMAGE_SIZE)
    assert len(without.branch_heads) == 0
    assert count_parameters(with_heads) - count_parameters(without) == 2 * (32 * 9 + 9)


def test_channel_exchange_reports_penalty_and_fraction(inputs) -> None:
    images, visits, labels = inputs
    model = build_model(
        tiny_model_spec(fusion="channel_exchange"), LossSpec(), image_size=IMAGE_SIZE
    )
    out = model(images, visits)
    # At init every γ is 1: nothing exchanges, and Σ|γ| over half of 32 channels × 2 × 2 blocks.
    assert out.stats["cen.exchanged_fraction"].item() == 0.0
    assert out.penalties["cen_l1"].item() == 64.0
    _, terms = compute_loss(out, labels, LossSpec())
    assert terms["cen_l1"].item() == pytest.approx(2e-4 * 64)


def test_multiscale_image_branch(inputs, plain_loss: LossSpec) -> None:
    images, visits, _ = inputs
    spec = tiny_model_spec(modality="rs")
    multiscale = spec.image.model_copy(update={"multiscale": True})
    multi = tiny_model_spec(modality="rs", image=multiscale)
    single_model = build_model(spec, plain_loss, image_size=IMAGE_SIZE)
    multi_model = build_model(multi, plain_loss, image_size=IMAGE_SIZE)
    assert len(multi_model.branches["rs"].scale_projs) == 3
    assert count_parameters(multi_model) > count_parameters(single_model)
    assert multi_model(images, visits).logits.shape == (BATCH, 9)


@pytest.mark.parametrize("fusion", ["concat", "channel_exchange", "dual", "cross_attention"])
def test_channels_last(fusion: str, inputs, plain_loss: LossSpec) -> None:
    images, visits, labels = inputs
    model = build_model(tiny_model_spec(fusion=fusion), plain_loss, image_size=IMAGE_SIZE)
    model.to(memory_format=torch.channels_last)
    out = model(images.contiguous(memory_format=torch.channels_last), visits)
    compute_loss(out, labels, plain_loss)[0].backward()
    assert out.logits.shape == (BATCH, 9)


def test_count_flops_includes_lstm(plain_loss: LossSpec) -> None:
    lstm = build_model(
        tiny_model_spec(modality="social", visit_branch="lstm"), plain_loss, image_size=IMAGE_SIZE
    )
    # Two LSTM layers of width 8 over 182 steps: 2·4·8·(24+8)·182 + 2·4·8·(8+8)·182.
    lstm_only = 2 * 4 * 8 * (24 + 8) * 182 + 2 * 4 * 8 * 16 * 182
    head = 2 * 8 * 32 + 2 * 32 * 9
    assert count_flops(lstm, image_size=IMAGE_SIZE) == lstm_only + head
    assert lstm.training  # restored


def test_flops_grow_with_image_size(plain_loss: LossSpec) -> None:
    model = build_model(tiny_model_spec(), plain_loss, image_size=IMAGE_SIZE)
    assert 0 < count_flops(model, image_size=32) < count_flops(model, image_size=64)
