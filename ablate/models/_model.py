"""The two-branch model and its factory."""

from __future__ import annotations

from torch import Tensor, nn

from ablate.models._branch import Branch
from ablate.models._fusion_base import Fusion, create_fusion
from ablate.models._image import create_image_branch
from ablate.models._loss import needs_branch_heads, needs_tokens
from ablate.models._output import ModelOutput
from ablate.models._visit import create_visit_branch
from ablate.spec import LossSpec, ModelSpec


class FusionModel(nn.Module):
    """Image branch ('rs') and/or visit branch ('social'), a fusion, a fused head, and an
    auxiliary head per branch only when a loss term reads it.

    ``forward(images, visits)``: images (B, 3, S, S), visits (B, 7, 26, 24); a single-modality
    model ignores the other input.
    """

    def __init__(
        self,
        *,
        branches: dict[str, Branch],
        fusion: Fusion | None,
        num_classes: int,
        dropout: float,
        branch_heads: bool,
        tokens: bool = False,
    ) -> None:
        super().__init__()
        self.want_tokens = tokens  # a loss term reads them, whatever the fusion
        self.branches = nn.ModuleDict(branches)
        self.fusion = fusion
        (first, *_) = branches.values()
        fused_dim = fusion.out_dim if fusion is not None else first.embed_dim
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(fused_dim, num_classes))
        self.branch_heads = nn.ModuleDict(
            {
                name: nn.Sequential(nn.Dropout(dropout), nn.Linear(branch.embed_dim, num_classes))
                for name, branch in branches.items()
            }
            if branch_heads
            else {}
        )

    def forward(self, images: Tensor, visits: Tensor) -> ModelOutput:
        inputs = {"rs": images, "social": visits}
        fusion = self.fusion
        features = {
            name: branch(
                inputs[name],
                need_map=fusion is not None and fusion.needs_map,
                need_tokens=self.want_tokens or (fusion is not None and fusion.needs_tokens),
                need_mid=fusion is not None and fusion.needs_mid,
            )
            for name, branch in self.branches.items()
        }
        embeddings = {name: feature.embedding for name, feature in features.items()}
        penalties: dict[str, Tensor] = {}
        stats: dict[str, Tensor] = {}
        if fusion is not None:
            fused = fusion(features["rs"], features["social"])
            fused_embedding, penalties, stats = fused.embedding, fused.penalties, fused.stats
        else:
            (fused_embedding,) = embeddings.values()
        return ModelOutput(
            logits=self.head(fused_embedding),
            branch_logits={k: head(embeddings[k]) for k, head in self.branch_heads.items()},
            embeddings=embeddings,
            penalties=penalties,
            stats=stats,
            tokens={k: f.tokens for k, f in features.items() if f.tokens is not None},
        )


def build_model(
    model: ModelSpec, loss: LossSpec, *, num_classes: int = 9, image_size: int = 100
) -> FusionModel:
    """The model a trial trains.

    With ``modality`` 'rs' or 'social' only that branch is built and ``fusion`` (and, for 'rs',
    ``visit``) is ignored; auxiliary heads exist only for a fused model with an active loss
    term that reads them (deep supervision, distillation, a plugin's), so parameter counts
    stay honest.
    """
    branches: dict[str, Branch] = {}
    if model.modality in ("rs", "fused"):
        branches["rs"] = create_image_branch(
            model.image, embed_dim=model.embed_dim, image_size=image_size
        )
    if model.modality in ("social", "fused"):
        branches["social"] = create_visit_branch(model.visit, embed_dim=model.embed_dim)
    fusion = None
    if model.modality == "fused":
        fusion = create_fusion(
            model.fusion,
            model.fusion_options,
            embed_dim=model.embed_dim,
            rs=branches["rs"],
            social=branches["social"],
        )
    return FusionModel(
        branches=branches,
        fusion=fusion,
        num_classes=num_classes,
        dropout=model.dropout,
        branch_heads=fusion is not None and needs_branch_heads(loss),
        tokens=needs_tokens(loss),
    )
