"""Names of the registered options, without importing torch.

The registries in ``ablate.models`` are the source of truth; a test checks these tuples equal
them, so that a study file can be validated (and ``ablate table`` started) without torch.
"""

from __future__ import annotations

from ablate.spec._search import PRUNER_KINDS, SAMPLER_KINDS

MODALITIES = ("rs", "social", "fused")
VISIT_BRANCHES = ("cnn2d", "cnn1d", "lstm", "timm")
FUSIONS = (
    "concat",
    "sum",
    "max",
    "gated",
    "difference",
    "product",
    "concat_diff_prod",
    "cross_attention",
    "channel_exchange",
    "dual",
)
VISIT_TRANSFORMS = ("raw", "log1p", "max")
# Names only, derived: the tables (with descriptions and typed options) are in spec._search.
SAMPLERS = tuple(SAMPLER_KINDS)
PRUNERS = tuple(PRUNER_KINDS)
OBJECTIVE_METRICS = ("val_accuracy", "val_loss", "val_kappa", "val_macro_f1")
CLASS_NAMES = (
    "Residential area",
    "School",
    "Industrial park",
    "Railway station",
    "Airport",
    "Park",
    "Shopping area",
    "Administrative district",
    "Hospital",
)
