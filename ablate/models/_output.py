"""What a branch hands to a fusion, and what the whole model returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor


@dataclass(frozen=True)
class BranchFeatures:
    """One branch's output. Only what the fusion asked for is filled in.

    ``embedding``: (B, embed_dim). ``feature_map``: the last raw feature map (B, C, H, W); 1-D
    branches give (B, C, 1, L). ``tokens``: that map projected to (B, N, embed_dim).
    ``mid_map``: a mid-depth raw feature map (B, C_mid, H, W), for dual fusion.
    """

    embedding: Tensor
    feature_map: Tensor | None = None
    tokens: Tensor | None = None
    mid_map: Tensor | None = None


@dataclass(frozen=True)
class FusionResult:
    embedding: Tensor
    penalties: dict[str, Tensor] = field(default_factory=dict)
    stats: dict[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelOutput:
    """The model's forward result.

    ``branch_logits``: auxiliary heads' logits keyed 'rs' / 'social' (empty unless deep supervision
    or distillation is on). ``embeddings``: each built branch's embedding (for consistency and
    triplet losses). ``tokens``: each branch's tokens (B, N, embed_dim), filled when the fusion
    or an active loss term needs them. ``penalties``: raw, unweighted regularisers such as
    'cen_l1'. ``stats``: detached numbers to log every epoch, such as 'cen.exchanged_fraction'.
    """

    logits: Tensor
    branch_logits: dict[str, Tensor] = field(default_factory=dict)
    embeddings: dict[str, Tensor] = field(default_factory=dict)
    penalties: dict[str, Tensor] = field(default_factory=dict)
    stats: dict[str, Tensor] = field(default_factory=dict)
    tokens: dict[str, Tensor] = field(default_factory=dict)
