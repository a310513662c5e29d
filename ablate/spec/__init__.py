"""The typed, validated study: YAML in, frozen pydantic models out (no torch here)."""

from ablate.spec._adaptive import AdaptiveSeedsSpec, seed_sequence, sequential_design
from ablate.spec._catalog import MODALITIES
from ablate.spec._change import StudyChange, compare_study
from ablate.spec._code import code_refs, plugin_refs, task_ref, with_code
from ablate.spec._confirm import Scored, chosen, confirm_rows, confirm_size, confirm_trials
from ablate.spec._data import DataSpec
from ablate.spec._load import component_error, load_study, locate, parse_study, study_lines
from ablate.spec._model import ImageBranchSpec, LossSpec, ModelSpec, VisitBranchSpec
from ablate.spec._names import ComponentError, Problem
from ablate.spec._resolve import (
    TrialConfig,
    backbones_reached,
    baseline_of,
    cell_key,
    cell_text,
    grid_cells,
    grid_trials,
    reachable_trials,
    resolve,
)
from ablate.spec._study import (
    ConfirmSpec,
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
    "MODALITIES",
    "AdaptiveSeedsSpec",
    "ComponentError",
    "ConfirmSpec",
    "DataSpec",
    "ImageBranchSpec",
    "LossSpec",
    "ModelSpec",
    "ObjectiveSpec",
    "ParamSpec",
    "Problem",
    "PrunerSpec",
    "Reference",
    "ResourceSpec",
    "Scored",
    "SearchSpec",
    "StudyChange",
    "StudySpec",
    "TrainSpec",
    "TrialConfig",
    "VisitBranchSpec",
    "backbones_reached",
    "baseline_of",
    "cell_key",
    "cell_text",
    "chosen",
    "code_refs",
    "compare_study",
    "component_error",
    "confirm_rows",
    "confirm_size",
    "confirm_trials",
    "grid_cells",
    "grid_trials",
    "load_study",
    "locate",
    "parse_study",
    "plugin_refs",
    "reachable_trials",
    "resolve",
    "seed_sequence",
    "sequential_design",
    "study_lines",
    "task_ref",
    "with_code",
]
