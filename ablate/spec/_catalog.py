"""Closed vocabularies of the study file, without importing torch.

Components (fusions, branches, loss terms) are not listed here: the registries in
``ablate.models`` are their one source of truth, and plugins add to them.
"""

from __future__ import annotations

from ablate.results import METRICS
from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS

MODALITIES = ("rs", "social", "fused")
VISIT_TRANSFORMS = ("raw", "log1p", "max")
# Names only, derived: the tables (with descriptions and typed options) are in spec._search.
SAMPLERS = tuple(SAMPLER_KINDS)
PRUNERS = tuple(PRUNER_KINDS)
OBJECTIVE_METRICS = tuple(f"val_{metric.name}" for metric in METRICS)  # val_accuracy, …
