"""Token-level cross-attention between the branches (the Dual ViT idea)."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from ablate.errors import UsageError
from ablate.models._fusion_base import Fusion, register_fusion
from ablate.models._output import BranchFeatures, FusionResult


class CrossAttention(nn.Module):
    """``query + layer_scale · MHA(norm(query), norm(context), norm(context))``.

    The layer-scale starts near 0, so training begins from the model without attention; at
    exactly 0 the block is an exact identity.
    """

    def __init__(self, dim: int, heads: int, layer_scale_init: float) -> None:
        super().__init__()
        self.norm_query = nn.LayerNorm(dim)
        self.norm_context = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.layer_scale = nn.Parameter(torch.full((dim,), float(layer_scale_init)))

    def forward(self, query: Tensor, context: Tensor) -> Tensor:
        context = self.norm_context(context)
        attended, _ = self.attention(self.norm_query(query), context, context, need_weights=False)
        return query + self.layer_scale * attended


class CrossAttentionFusion(Fusion):
    """Image tokens attend to visit tokens (and back, if bidirectional); pooled, concatenated."""

    needs_tokens = True

    def __init__(
        self, embed_dim: int, *, heads: int, bidirectional: bool, layer_scale_init: float
    ) -> None:
        super().__init__(2 * embed_dim)
        self.rs_attends = CrossAttention(embed_dim, heads, layer_scale_init)
        self.social_attends = (
            CrossAttention(embed_dim, heads, layer_scale_init) if bidirectional else None
        )

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        rs_tokens, social_tokens = rs.tokens, social.tokens
        assert rs_tokens is not None and social_tokens is not None  # needs_tokens guarantees it
        # Both directions read the other branch's tokens from before any attention.
        new_rs = self.rs_attends(rs_tokens, social_tokens)
        if self.social_attends is not None:
            social_tokens = self.social_attends(social_tokens, rs_tokens)
        return FusionResult(torch.cat([new_rs.mean(dim=1), social_tokens.mean(dim=1)], dim=1))


class CrossAttentionOptions(BaseModel):
    """A pydantic model as ``options=``: the factory receives the validated instance."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    heads: int = Field(4, ge=1, le=64)
    bidirectional: bool = True
    layer_scale_init: float = Field(1e-4, ge=0.0)


@register_fusion(
    "cross_attention",
    description="tokens of one branch query the other's (multi-head), layer-scaled residual",
    options=CrossAttentionOptions,
)
def _cross_attention(*, embed_dim: int, options: CrossAttentionOptions) -> Fusion:
    if embed_dim % options.heads:
        raise UsageError(
            f"model.embed_dim={embed_dim} is not divisible by model.fusion_options.heads="
            f"{options.heads}, which cross_attention needs; change one of them."
        )
    return CrossAttentionFusion(
        embed_dim,
        heads=options.heads,
        bidirectional=options.bidirectional,
        layer_scale_init=options.layer_scale_init,
    )
