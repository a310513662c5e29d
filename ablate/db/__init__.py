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
from ablate.db._migrate import database_lock, upgrade_database
from ablate.db._read import (
    EXPORT_TABLES,
    ResultValues,
    TrialOutcome,
    class_accuracy,
    confusion,
    epoch_metrics,
    epochs,
    export_rows,
    get_study,
    list_studies,
    result_values,
    study_class_accuracy,
    study_confusion,
    study_epochs,
    study_results,
    study_trials,
    trial_outcomes,
)
from ablate.db._records import (
    EpochRecord,
    EpochValues,
    ErrorKind,
    ResultRecord,
    SplitMetrics,
    StudyRecord,
    StudySummary,
    TrialRecord,
)
from ablate.db._schema import SCHEMA_VERSION

__all__ = [
    "DEFAULT_STORAGE",
    "EXPORT_TABLES",
    "SCHEMA_VERSION",
    "EpochRecord",
    "EpochValues",
    "ErrorKind",
    "ResultRecord",
    "ResultValues",
    "SplitMetrics",
    "StudyRecord",
    "StudySummary",
    "TrialOutcome",
    "TrialRecord",
    "class_accuracy",
    "confusion",
    "database_lock",
    "ensure_schema",
    "epoch_metrics",
    "epochs",
    "export_rows",
    "get_study",
    "has_schema",
    "list_studies",
    "make_engine",
    "redact",
    "result_values",
    "schema_version",
    "session_scope",
    "sqlite_path",
    "study_class_accuracy",
    "study_confusion",
    "study_epochs",
    "study_results",
    "study_trials",
    "trial_outcomes",
    "upgrade_database",
]

from ablate.db.admin import (  # study upkeep: `ablate db rm|rename`
    StudyFootprint,
    check_rename,
    delete_study,
    rename_study,
    study_footprint,
)

__all__ += ["StudyFootprint", "check_rename", "delete_study", "rename_study", "study_footprint"]
