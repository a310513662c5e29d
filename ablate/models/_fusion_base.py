"""The fusion operator interface and its registry."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from ablate.models._branch import Branch
from ablate.models._output import BranchFeatures, FusionResult
from ablate.models._registry import Registry
from ablate.spec import FusionOptions


class Fusion(nn.Module):
    """Combines the two branches' features into one embedding of size ``out_dim``.

    The class attributes say which extra features the fusion needs from the branches, so the
    branches compute maps and tokens only when used.
    """

    needs_map = False
    needs_tokens = False
    needs_mid = False

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.out_dim = out_dim

    def forward(self, rs: BranchFeatures, social: BranchFeatures) -> FusionResult:
        raise NotImplementedError


# factory(options, *, embed_dim, rs, social) -> Fusion; it may read the branches' channel counts.
FusionFactory = Callable[..., Fusion]
FUSIONS: Registry[FusionFactory] = Registry("fusion", "model.fusion")
register_fusion = FUSIONS.register


def create_fusion(
    name: str, options: FusionOptions, *, embed_dim: int, rs: Branch, social: Branch
) -> Fusion:
    return FUSIONS.get(name)(options, embed_dim=embed_dim, rs=rs, social=social)


def map_aligner(in_channels: int, out_channels: int, *, grid: int) -> nn.Sequential:
    """Bring a (B, C, H, W) map of any size to (B, out_channels, grid, grid).

    Adaptive pooling also stretches maps smaller than the grid (a 1×L sequence map, or a
    1×1 map from a deep backbone on small inputs) by repeating cells.
    """
    return nn.Sequential(
        nn.AdaptiveAvgPool2d(grid),
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )
