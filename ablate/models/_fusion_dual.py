"""Dual fusion: fuse the mid-depth feature maps, and the final embeddings, and combine both."""

from __future__ import annotations

import torch
from torch import nn

from ablate.models._branch import Branch, global_pool
from ablate.models._fusion_base import Fusion, map_aligner, register_fusion
from ablate.models._output import BranchFeatures, FusionResult

GRID = 4


class DualFusion(Fusion):
    """Mid maps → embed_dim × 4 × 4 each, concatenated, mixed by a 3×3 conv and pooled;
    the result is concatenated with both branch embeddings: [mid, a, b]."""

    needs_mid = True

    def __init__(self, embed_dim: int, *, rs_channels: int, social_channels: int) -> None:
        super().__init__(3 * embed_dim)
        self.align_rs = map_aligner(rs_channels, embed_dim, grid=GRID)
        self.align_social = map_aligner(social_channels, embed_dim, grid=GRID)
        self.mix = nn.Sequential(
            nn.Conv2d(2 * embed_dim, embed_dim, 3, padding=1, bias=False),
            nn.BatchNorm2d(embed_dim),
            nn.ReLU(inplace=True),
        )

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        assert rs.mid_map is not None and social.mid_map is not None  # needs_mid
        mid = torch.cat([self.align_rs(rs.mid_map), self.align_social(social.mid_map)], dim=1)
        mid_embedding = global_pool(self.mix(mid))
        return FusionResult(torch.cat([mid_embedding, rs.embedding, social.embedding], dim=1))


@register_fusion(
    "dual",
    description="fuse at two depths: mid-level feature maps and final embeddings",
)
def _dual(*, embed_dim: int, rs: Branch, social: Branch) -> Fusion:
    rs.check_intermediates()
    social.check_intermediates()
    return DualFusion(embed_dim, rs_channels=rs.mid_channels, social_channels=social.mid_channels)
