"""What ``ablate models`` lists: every option, and what the default model costs with each."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ablate.errors import UsageError
from ablate.models._count import count_flops, count_parameters
from ablate.models._fusion_base import FUSIONS, create_fusion
from ablate.models._image import IMAGE_BRANCHES, create_image_branch
from ablate.models._loss import LOSS_TERMS
from ablate.models._model import FusionModel
from ablate.models._registry import OptionInfo
from ablate.models._visit import VISIT_BRANCHES, create_visit_branch
from ablate.spec import ModelSpec, VisitBranchSpec

_FIXED = [
    OptionInfo("modality", "rs", "remote-sensing image branch only (fusion ignored)"),
    OptionInfo("modality", "social", "visit branch only (fusion ignored)"),
    OptionInfo("modality", "fused", "both branches, combined by model.fusion"),
]
_HEADS = [
    OptionInfo("head", "fused", "classifier on the fused embedding", ("model.dropout",)),
    OptionInfo(
        "head",
        "branch",
        "auxiliary classifier per branch, built only when a loss term reads it",
        ("loss.deep_supervision", "loss.distillation"),
    ),
]


@dataclass(frozen=True)
class OptionCost:
    parameters: int
    flops: float


def describe_options() -> list[OptionInfo]:
    """Every option a study file can name: modalities, branches, fusions, heads, loss terms."""
    return [
        *_FIXED,
        *IMAGE_BRANCHES.infos(),
        *VISIT_BRANCHES.infos(),
        *FUSIONS.infos(),
        *_HEADS,
        *LOSS_TERMS.infos(),
    ]


@torch.no_grad()
def option_costs(
    *, image_size: int = 100, num_classes: int = 9
) -> dict[tuple[str, str], OptionCost]:
    """Parameters and FLOPs of the default fused model with each fusion and each visit branch
    (at their default options; one that cannot be built so, e.g. a plugin with a required
    option, has no cost listed).

    The image branch (the default backbone) is built once and shared, so this takes seconds
    on a CPU; every model still counts all its parameters.
    """
    base = ModelSpec()
    torch.manual_seed(0)
    rs = create_image_branch(base.image, embed_dim=base.embed_dim, image_size=image_size)
    default_social = create_visit_branch(base.visit, embed_dim=base.embed_dim)

    def cost(fusion_name: str, social: torch.nn.Module) -> OptionCost:
        fusion = create_fusion(
            fusion_name, base.fusion_options, embed_dim=base.embed_dim, rs=rs, social=social
        )
        model = FusionModel(
            branches={"rs": rs, "social": social},
            fusion=fusion,
            num_classes=num_classes,
            dropout=0.0,
            branch_heads=False,
        )
        return OptionCost(count_parameters(model), count_flops(model, image_size=image_size))

    costs: dict[tuple[str, str], OptionCost] = {}
    for name in FUSIONS.names():
        try:
            costs["fusion", name] = cost(name, default_social)
        except (UsageError, TypeError, ValueError, RuntimeError):
            continue
    for name in VISIT_BRANCHES.names():
        try:
            social = create_visit_branch(
                VisitBranchSpec(branch=name, width=base.visit.width), embed_dim=base.embed_dim
            )
            costs["visit branch", name] = cost(base.fusion, social)
        except (UsageError, TypeError, ValueError, RuntimeError):
            continue
    return costs
