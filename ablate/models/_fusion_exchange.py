"""Channel-exchanging fusion (CEN, Wang et al., TPAMI 2022)."""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import Tensor, nn

from ablate.models._branch import Branch, global_pool
from ablate.models._fusion_base import Fusion, map_aligner, register_fusion
from ablate.models._output import BranchFeatures, FusionResult

GRID = 4
BLOCKS = 2


class ExchangeBlock(nn.Module):
    """A conv shared by both branches, private BatchNorms, then the exchange.

    Where branch k's |γ| is below the threshold, its channel is replaced by the other branch's
    (after that branch's own BatchNorm), then ReLU.
    """

    def __init__(self, channels: int, threshold: float) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norms = nn.ModuleList([nn.BatchNorm2d(channels), nn.BatchNorm2d(channels)])
        self.threshold = threshold

    def swap_masks(self) -> tuple[Tensor, Tensor]:
        return tuple(norm.weight.detach().abs() < self.threshold for norm in self.norms)  # type: ignore[return-value]

    def forward(self, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        a, b = self.norms[0](self.conv(a)), self.norms[1](self.conv(b))
        swap_a, swap_b = self.swap_masks()
        new_a = torch.where(swap_a.view(1, -1, 1, 1), b, a)
        new_b = torch.where(swap_b.view(1, -1, 1, 1), a, b)
        return F.relu(new_a), F.relu(new_b), swap_a.sum() + swap_b.sum()

    def l1_penalty(self) -> Tensor:
        """Σ|γ| over disjoint halves: branch 0 its first half of channels, branch 1 its second."""
        half = self.norms[0].weight.shape[0] // 2
        return self.norms[0].weight[:half].abs().sum() + self.norms[1].weight[half:].abs().sum()


class ChannelExchangeFusion(Fusion):
    """Both last maps → embed_dim × 4 × 4, two exchange blocks, pooled and concatenated.

    Returns the raw L1 penalty as ``penalties['cen_l1']`` (weighted by ``loss.cen_l1``) and the
    fraction of exchanged channels as ``stats['cen.exchanged_fraction']``: at init γ = 1 and
    nothing is exchanged until the penalty has pushed some γ below the threshold.
    """

    needs_map = True

    def __init__(
        self, embed_dim: int, *, rs_channels: int, social_channels: int, threshold: float
    ) -> None:
        super().__init__(2 * embed_dim)
        self.align_rs = map_aligner(rs_channels, embed_dim, grid=GRID)
        self.align_social = map_aligner(social_channels, embed_dim, grid=GRID)
        self.blocks = nn.ModuleList(ExchangeBlock(embed_dim, threshold) for _ in range(BLOCKS))

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        assert rs.feature_map is not None and social.feature_map is not None  # needs_map
        a, b = self.align_rs(rs.feature_map), self.align_social(social.feature_map)
        exchanged = []
        for block in self.blocks:
            a, b, count = block(a, b)
            exchanged.append(count)
        channels = 2 * a.shape[1] * len(self.blocks)
        fraction = torch.stack(exchanged).sum().float() / channels
        penalty = torch.stack([block.l1_penalty() for block in self.blocks]).sum()
        return FusionResult(
            torch.cat([global_pool(a), global_pool(b)], dim=1),
            penalties={"cen_l1": penalty},
            stats={"cen.exchanged_fraction": fraction},
        )


@register_fusion(
    "channel_exchange",
    description="CEN: shared convs, private BatchNorms, swap channels with small |γ|",
    parameters=("loss.cen_l1",),
)
def _channel_exchange(
    *,
    embed_dim: int,
    rs: Branch,
    social: Branch,
    exchange_threshold: Annotated[float, Field(ge=0.0)] = 2e-2,
) -> Fusion:
    return ChannelExchangeFusion(
        embed_dim,
        rs_channels=rs.map_channels,
        social_channels=social.map_channels,
        threshold=exchange_threshold,
    )
