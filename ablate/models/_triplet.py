"""Cross-modal triplet loss: anchors from one modality, positives/negatives from the other."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _batch_hard(anchors: Tensor, others: Tensor, labels: Tensor, margin: float) -> Tensor | None:
    distance = torch.cdist(anchors, others)  # (B, B): anchor i to other-modality sample j
    same = labels[:, None] == labels[None, :]
    hardest_positive = distance.masked_fill(~same, float("-inf")).amax(dim=1)
    hardest_negative = distance.masked_fill(same, float("inf")).amin(dim=1)
    valid = (~same).any(dim=1)  # a positive always exists: the anchor's own other modality
    if not valid.any():
        return None
    return F.relu(hardest_positive[valid] - hardest_negative[valid] + margin).mean()


def cross_modal_triplet(rs: Tensor, social: Tensor, labels: Tensor, *, margin: float) -> Tensor:
    """Batch-hard triplet loss in both directions (rs anchors, then social anchors).

    Embeddings are L2-normalised first, so the margin is on the unit sphere's scale. The
    positive for an anchor is the farthest same-class sample of the other modality, the
    negative the nearest other-class one. A batch with a single class has no valid triplet
    and gives 0.
    """
    rs, social = F.normalize(rs, dim=1), F.normalize(social, dim=1)
    directions = [
        loss
        for loss in (
            _batch_hard(rs, social, labels, margin),
            _batch_hard(social, rs, labels, margin),
        )
        if loss is not None
    ]
    if not directions:
        return rs.new_zeros(())
    return torch.stack(directions).mean()
