"""The typed, validated study: YAML in, frozen pydantic models out (no torch here)."""

from ablate.spec._catalog import CLASS_NAMES, FUSIONS, MODALITIES, VISIT_BRANCHES
from ablate.spec._change import StudyChange, compare_study
from ablate.spec._code import code_refs, with_code
from ablate.spec._data import DataSpec
from ablate.spec._load import load_study, parse_study
from ablate.spec._model import FusionOptions, ImageBranchSpec, LossSpec, ModelSpec, VisitBranchSpec
from ablate.spec._resolve import (
    TrialConfig,
    backbones_reached,
    cell_key,
    cell_text,
    grid_cells,
    grid_trials,
    resolve,
)
from ablate.spec._study import (
    ObjectiveSpec,
    ParamSpec,
    PrunerSpec,
    Reference,
    ResourceSpec,
    SearchSpec,
    StudySpec,
)
from ablate.spec._train import TrainSpec

__all__ = [
    "CLASS_NAMES",
    "FUSIONS",
    "MODALITIES",
    "VISIT_BRANCHES",
    "DataSpec",
    "FusionOptions",
    "ImageBranchSpec",
    "LossSpec",
    "ModelSpec",
    "ObjectiveSpec",
    "ParamSpec",
    "PrunerSpec",
    "Reference",
    "ResourceSpec",
    "SearchSpec",
    "StudyChange",
    "StudySpec",
    "TrainSpec",
    "TrialConfig",
    "VisitBranchSpec",
    "backbones_reached",
    "cell_key",
    "cell_text",
    "code_refs",
    "compare_study",
    "grid_cells",
    "grid_trials",
    "load_study",
    "parse_study",
    "resolve",
    "with_code",
]
