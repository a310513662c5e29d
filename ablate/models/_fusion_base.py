"""The fusion operator interface and its registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from ablate.models._branch import Branch
from ablate.models._options import typed_call
from ablate.models._output import BranchFeatures, FusionResult
from ablate.models._registry import Registry
from ablate.spec._model import LEGACY_FUSION_DEFAULTS


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


# factory(*, embed_dim, rs, social, <its options>) -> Fusion, taking the context it names; it
# may read the branches' channel counts (rs.map_channels …).
FusionFactory = Callable[..., Fusion]
FUSIONS: Registry[FusionFactory] = Registry(
    "fusion",
    "model.fusion",
    options_at="model.fusion_options",
    context=frozenset({"embed_dim", "rs", "social"}),
    fixed_defaults=LEGACY_FUSION_DEFAULTS,
)
register_fusion = FUSIONS.register


def create_fusion(
    name: str, options: Mapping[str, Any], *, embed_dim: int, rs: Branch, social: Branch
) -> Fusion:
    """The fusion ``name`` with the keys of ``model.fusion_options`` it takes (a study with a
    grid over fusions sets the options of several; each reads its own)."""
    component = FUSIONS.component(name)
    mine = {k: v for k, v in options.items() if k in component.option_names}
    context = {"embed_dim": embed_dim, "rs": rs, "social": social}
    return typed_call(component, context, mine)


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
