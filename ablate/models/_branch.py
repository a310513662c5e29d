"""The contract every branch honours: an embedding, plus maps/tokens when a fusion asks."""

from __future__ import annotations

from torch import Tensor, nn

from ablate.models._output import BranchFeatures


class Branch(nn.Module):
    """Base of image and visit branches.

    Subclasses set ``map_channels`` (channels of the last feature map) and ``mid_channels``
    (channels of the mid-depth map) and implement :meth:`encode`. ``proj`` maps the last map's
    channels to ``embed_dim``; it serves both the pooled embedding and the per-location tokens.
    """

    def __init__(self, *, embed_dim: int, map_channels: int, mid_channels: int) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.map_channels = map_channels
        self.mid_channels = mid_channels
        self.proj = nn.Linear(map_channels, embed_dim)

    def check_intermediates(self) -> None:
        """Raise UsageError if this branch cannot give a mid-depth map (all built-ins can)."""

    def encode(self, x: Tensor, *, need_mid: bool) -> tuple[Tensor, Tensor, Tensor | None]:
        """(embedding (B, D), last feature map (B, C, H, W), mid map or None)."""
        raise NotImplementedError

    def forward(
        self,
        x: Tensor,
        *,
        need_map: bool = False,
        need_tokens: bool = False,
        need_mid: bool = False,
    ) -> BranchFeatures:
        embedding, feature_map, mid_map = self.encode(x, need_mid=need_mid)
        tokens = self.proj(feature_map.flatten(2).transpose(1, 2)) if need_tokens else None
        return BranchFeatures(
            embedding=embedding,
            feature_map=feature_map if need_map else None,
            tokens=tokens,
            mid_map=mid_map if need_mid else None,
        )


def global_pool(feature_map: Tensor) -> Tensor:
    """(B, C, H, W) → (B, C) by averaging."""
    return feature_map.mean(dim=(2, 3))
