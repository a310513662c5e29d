"""Fusions of the two embeddings: concat (baseline), Cao et al.'s sum and max, a learned gate,
and the change-detection operators (difference, product, and all four concatenated)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import torch
from pydantic import Field
from torch import Tensor, nn

from ablate.models._fusion_base import Fusion, register_fusion
from ablate.models._output import BranchFeatures, FusionResult


def _concat(a: Tensor, b: Tensor) -> Tensor:
    return torch.cat([a, b], dim=1)


def _sum(a: Tensor, b: Tensor) -> Tensor:
    return a + b


def _max(a: Tensor, b: Tensor) -> Tensor:
    return torch.maximum(a, b)


def _difference(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).abs()


def _product(a: Tensor, b: Tensor) -> Tensor:
    return a * b


def _concat_diff_prod(a: Tensor, b: Tensor) -> Tensor:
    return torch.cat([a, b, (a - b).abs(), a * b], dim=1)


class ElementwiseFusion(Fusion):
    """A parameter-free function of the two embeddings."""

    def __init__(self, combine: Callable[[Tensor, Tensor], Tensor], out_dim: int) -> None:
        super().__init__(out_dim)
        self.combine = combine

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        return FusionResult(self.combine(rs.embedding, social.embedding))


class GatedFusion(Fusion):
    """Per-sample modality weights: softmax over two logits from an MLP on [a, b]."""

    def __init__(self, embed_dim: int, hidden: int) -> None:
        super().__init__(embed_dim)
        self.gate = nn.Sequential(
            nn.Linear(2 * embed_dim, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, 2)
        )

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        a, b = rs.embedding, social.embedding
        weights = self.gate(torch.cat([a, b], dim=1)).softmax(dim=1)
        fused = weights[:, :1] * a + weights[:, 1:] * b
        return FusionResult(fused, stats={"gated.rs_weight": weights[:, 0].detach().mean()})


def _register_elementwise(
    name: str, combine: Callable[[Tensor, Tensor], Tensor], width: int, description: str
) -> None:
    def factory(*, embed_dim: int) -> Fusion:
        return ElementwiseFusion(combine, width * embed_dim)

    register_fusion(name, description=description)(factory)


_register_elementwise("concat", _concat, 2, "[a, b]: the baseline")
_register_elementwise("sum", _sum, 1, "a + b (Cao et al. 2020)")
_register_elementwise("max", _max, 1, "element-wise max(a, b) (Cao et al. 2020)")


@register_fusion(
    "gated",
    description="w_rs·a + w_social·b, per-sample weights from a softmax gate",
)
def _gated(*, embed_dim: int, gate_hidden: Annotated[int, Field(ge=1)] = 64) -> Fusion:
    return GatedFusion(embed_dim, gate_hidden)


_register_elementwise("difference", _difference, 1, "|a − b| (change detection)")
_register_elementwise("product", _product, 1, "a ⊙ b (change detection)")
_register_elementwise(
    "concat_diff_prod", _concat_diff_prod, 4, "[a, b, |a − b|, a ⊙ b] (change detection)"
)
