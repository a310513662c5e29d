"""The results database (SQLAlchemy 2): ablate's tables next to Optuna's, one file or server."""

from ablate.db._engine import (
    DEFAULT_STORAGE,
    ensure_schema,
    has_schema,
    make_engine,
    redact,
    schema_version,
    session_scope,
    sqlite_path,
)
from ablate.db._read import (
    class_accuracy,
    confusion,
    epoch_metrics,
    epochs,
    get_study,
    list_studies,
    study_results,
    study_trials,
)
from ablate.db._records import (
    EpochRecord,
    EpochValues,
    ResultRecord,
    SplitMetrics,
    StudyRecord,
    StudySummary,
    TrialRecord,
)
from ablate.db._schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_STORAGE",
    "SCHEMA_VERSION",
    "EpochRecord",
    "EpochValues",
    "ResultRecord",
    "SplitMetrics",
    "StudyRecord",
    "StudySummary",
    "TrialRecord",
    "class_accuracy",
    "confusion",
    "ensure_schema",
    "epoch_metrics",
    "epochs",
    "get_study",
    "has_schema",
    "list_studies",
    "make_engine",
    "redact",
    "schema_version",
    "session_scope",
    "sqlite_path",
    "study_results",
    "study_trials",
]
