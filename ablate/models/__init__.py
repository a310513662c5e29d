"""Every model variant the student ablates: branches, fusions, heads and loss terms.

Registries, timm-style: ``register_visit_branch``, ``register_fusion`` and
``register_loss_term`` add options by name; ``build_model`` assembles a trial's model from its
``ModelSpec`` and ``LossSpec``; ``compute_loss`` sums the active loss terms.
"""

# The fusions register in import order, which must be the order of ablate.spec._catalog (a
# test checks): hence the unsorted block.
from ablate.models import _fusion_vector  # noqa: I001, F401  (concat … concat_diff_prod)
from ablate.models import _fusion_attention  # noqa: F401  (registers cross_attention)
from ablate.models import _fusion_exchange  # noqa: F401  (registers channel_exchange)
from ablate.models import _fusion_dual  # noqa: F401  (registers dual)
from ablate.models._branch import Branch
from ablate.models._count import count_flops, count_parameters
from ablate.models._describe import OptionCost, describe_options, option_costs
from ablate.models._fusion_base import FUSIONS, Fusion, create_fusion, register_fusion
from ablate.models._image import TimmBranch, create_image_branch
from ablate.models._timm import unknown_backbone
from ablate.models._loss import LOSS_TERMS, compute_loss, register_loss_term
from ablate.models._model import FusionModel, build_model
from ablate.models._output import BranchFeatures, FusionResult, ModelOutput
from ablate.models._registry import OptionInfo, Registry
from ablate.models._visit import (
    VISIT_BRANCHES,
    create_visit_branch,
    day_sequence,
    register_visit_branch,
)


def fusion_names() -> tuple[str, ...]:
    return FUSIONS.names()


def visit_branch_names() -> tuple[str, ...]:
    return VISIT_BRANCHES.names()


def loss_term_names() -> tuple[str, ...]:
    return LOSS_TERMS.names()


__all__ = [
    "FUSIONS",
    "LOSS_TERMS",
    "VISIT_BRANCHES",
    "Branch",
    "BranchFeatures",
    "Fusion",
    "FusionModel",
    "FusionResult",
    "ModelOutput",
    "OptionCost",
    "OptionInfo",
    "Registry",
    "TimmBranch",
    "build_model",
    "compute_loss",
    "count_flops",
    "count_parameters",
    "create_fusion",
    "create_image_branch",
    "create_visit_branch",
    "day_sequence",
    "describe_options",
    "fusion_names",
    "loss_term_names",
    "option_costs",
    "register_fusion",
    "register_loss_term",
    "register_visit_branch",
    "unknown_backbone",
    "visit_branch_names",
]
