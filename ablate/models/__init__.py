"""Every model variant the student ablates: branches, fusions, heads and loss terms.

Registries, timm-style: ``register_image_branch``, ``register_visit_branch``,
``register_fusion`` and ``register_loss_term`` add components by name, each with its own typed
options; the built-ins below register through them exactly as a plugin does (``ablate models``
lists them in registration order, which nothing else depends on). ``build_model`` assembles a
trial's model from its ``ModelSpec`` and ``LossSpec``; ``compute_loss`` sums the active loss
terms; ``check_study`` checks every component a study names, its plugins imported.
"""

# Importing the built-in fusions' modules registers them.
from ablate.models import _fusion_attention, _fusion_dual, _fusion_exchange, _fusion_vector  # noqa: F401
from ablate.models._branch import Branch
from ablate.models._check import check_components, check_study, import_plugins
from ablate.models._count import count_flops, count_parameters
from ablate.models._describe import OptionCost, describe_options, option_costs
from ablate.models._fusion_base import FUSIONS, Fusion, create_fusion, register_fusion
from ablate.models._image import (
    IMAGE_BRANCHES,
    TimmBranch,
    create_image_branch,
    register_image_branch,
)
from ablate.models._loss import LOSS_TERMS, compute_loss, register_loss_term
from ablate.models._model import FusionModel, build_model
from ablate.models._output import BranchFeatures, FusionResult, ModelOutput
from ablate.models._registry import Component, OptionField, OptionInfo, Registry
from ablate.models._timm import unknown_backbone
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
    "IMAGE_BRANCHES",
    "LOSS_TERMS",
    "VISIT_BRANCHES",
    "Branch",
    "BranchFeatures",
    "Component",
    "Fusion",
    "FusionModel",
    "FusionResult",
    "ModelOutput",
    "OptionCost",
    "OptionField",
    "OptionInfo",
    "Registry",
    "TimmBranch",
    "build_model",
    "check_components",
    "check_study",
    "compute_loss",
    "count_flops",
    "count_parameters",
    "create_fusion",
    "create_image_branch",
    "create_visit_branch",
    "day_sequence",
    "describe_options",
    "fusion_names",
    "import_plugins",
    "loss_term_names",
    "option_costs",
    "register_fusion",
    "register_image_branch",
    "register_loss_term",
    "register_visit_branch",
    "unknown_backbone",
    "visit_branch_names",
]
