"""Ablations must be clean: switched-off ideas change nothing, to the bit."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ablate.models import ModelOutput, build_model, compute_loss
from ablate.spec import LossSpec
from tests.models.conftest import IMAGE_SIZE, tiny_model_spec


@pytest.mark.parametrize("fusion", ["concat", "channel_exchange", "gated"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_zero_weights_give_plain_cross_entropy(
    fusion: str, label_smoothing: float, inputs
) -> None:
    images, visits, labels = inputs
    loss = LossSpec(label_smoothing=label_smoothing, cen_l1=0.0)
    model = build_model(tiny_model_spec(fusion=fusion), loss, image_size=IMAGE_SIZE)
    out = model(images, visits)
    total, terms = compute_loss(out, labels, loss)
    expected = F.cross_entropy(out.logits, labels, label_smoothing=label_smoothing)
    assert torch.equal(total, expected)
    assert list(terms) == ["ce"]


def test_cross_attention_with_zero_layer_scale_is_the_model_without_it(inputs) -> None:
    images, visits, _ = inputs
    spec = tiny_model_spec(fusion="cross_attention", fusion_options={"layer_scale_init": 0.0})
    model = build_model(spec, LossSpec(), image_size=IMAGE_SIZE).eval()
    with torch.no_grad():
        out = model(images, visits)
        # The same weights, without the attention blocks: pool the tokens, concat, classify.
        rs = model.branches["rs"](images, need_tokens=True).tokens
        social = model.branches["social"](visits, need_tokens=True).tokens
        reference = model.head(torch.cat([rs.mean(dim=1), social.mean(dim=1)], dim=1))
        assert torch.equal(out.logits, reference)
        for block in (model.fusion.rs_attends, model.fusion.social_attends):
            block.layer_scale.fill_(0.5)
        assert not torch.allclose(model(images, visits).logits, reference)


def test_unidirectional_cross_attention_has_one_block() -> None:
    spec = tiny_model_spec(fusion="cross_attention", fusion_options={"bidirectional": False})
    model = build_model(spec, LossSpec(), image_size=IMAGE_SIZE)
    assert model.fusion.social_attends is None


def test_channel_exchange_swaps_exactly_the_small_gamma_channels(inputs) -> None:
    images, visits, _ = inputs
    model = build_model(
        tiny_model_spec(fusion="channel_exchange"), LossSpec(), image_size=IMAGE_SIZE
    ).eval()
    block = model.fusion.blocks[0]
    swapped = [1, 5, 20]
    with torch.no_grad():
        block.norms[0].weight[swapped] = 1e-3  # below the 2e-2 threshold, in branch 0 only
    normed: dict[int, torch.Tensor] = {}
    for index, norm in enumerate(block.norms):
        norm.register_forward_hook(lambda m, a, out, i=index: normed.__setitem__(i, out))
    outputs: list[tuple[torch.Tensor, ...]] = []
    block.register_forward_hook(lambda m, a, out: outputs.append(out))
    with torch.no_grad():
        result = model(images, visits)

    out_rs, out_social, count = outputs[0]
    kept = [c for c in range(out_rs.shape[1]) if c not in swapped]
    assert torch.equal(out_rs[:, swapped], F.relu(normed[1][:, swapped]))
    assert torch.equal(out_rs[:, kept], F.relu(normed[0][:, kept]))
    assert torch.equal(out_social, F.relu(normed[1]))  # branch 1's γ are all 1: nothing swaps
    assert count.item() == len(swapped)
    fraction = len(swapped) / (2 * 32 * 2)  # 2 branches × 32 channels × 2 blocks
    assert result.stats["cen.exchanged_fraction"].item() == pytest.approx(fraction)


def _output(logits: torch.Tensor, branch_logits: dict[str, torch.Tensor]) -> ModelOutput:
    return ModelOutput(logits=logits, branch_logits=branch_logits)


def test_distillation_is_zero_when_branches_agree_with_the_fused_head() -> None:
    logits = torch.randn(6, 9, requires_grad=True)
    labels = torch.arange(6) % 9
    out = _output(logits, {"rs": logits.detach().clone(), "social": logits.detach().clone()})
    _, terms = compute_loss(out, labels, LossSpec(distillation=1.0))
    assert terms["distillation"].item() == 0.0


def test_distillation_teacher_is_detached() -> None:
    logits = torch.randn(6, 9, requires_grad=True)
    branch = torch.randn(6, 9, requires_grad=True)
    labels = torch.arange(6) % 9
    _, terms = compute_loss(_output(logits, {"rs": branch}), labels, LossSpec(distillation=1.0))
    terms["distillation"].backward()
    assert logits.grad is None
    assert branch.grad is not None and branch.grad.abs().sum() > 0


def test_distillation_and_deep_supervision_formulas() -> None:
    torch.manual_seed(0)
    logits, rs, social = torch.randn(3, 5, 9).unbind(0)
    labels = torch.tensor([0, 3, 8, 1, 1])
    loss = LossSpec(deep_supervision=0.3, distillation=0.7, temperature=2.0)
    total, terms = compute_loss(_output(logits, {"rs": rs, "social": social}), labels, loss)
    teacher = F.softmax(logits / 2, dim=1)
    kl = sum(
        F.kl_div(F.log_softmax(b / 2, dim=1), teacher, reduction="batchmean") for b in (rs, social)
    )
    ce = F.cross_entropy
    assert terms["distillation"].item() == pytest.approx(0.7 * 4 * kl.item(), rel=1e-6)
    assert terms["deep_supervision"].item() == pytest.approx(
        0.3 * (ce(rs, labels) + ce(social, labels)).item(), rel=1e-6
    )
    assert total.item() == pytest.approx(sum(t.item() for t in terms.values()), rel=1e-6)
