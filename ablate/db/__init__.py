"""The results database (SQLAlchemy 2): ablate's tables next to Optuna's, one file or server.

Queries return plain frozen records, and what trials produced comes back as the
``ablate.results`` types the training loop made; no ORM row leaves this package.
"""

from ablate.db._engine import (
    DEFAULT_STORAGE,
    ensure_schema,
    has_schema,
    make_engine,
    optuna_engine_policy,
    redact,
    schema_version,
    session_scope,
    sqlite_path,
)
from ablate.db._memory import PeakMemory, peak_memory_by_cell
from ablate.db._migrate import database_lock, upgrade_database
from ablate.db._read import (
    EXPORT_TABLES,
    TrialCost,
    TrialOutcome,
    export_rows,
    get_study,
    list_studies,
    study_trials,
    trial_costs,
    trial_outcomes,
)
from ablate.db._records import StudyRecord, StudySummary, TrialRecord
from ablate.db._schema import SCHEMA_VERSION
from ablate.db._scores import study_class_scores, study_epochs, study_scores
from ablate.db._status import StudyStatus, TrialStatus, stored_study, study_status
from ablate.db._trial_read import StoredTrial, stored_trial
from ablate.db.admin import (  # study upkeep: `ablate db rm|rename`
    StudyFootprint,
    check_rename,
    delete_study,
    rename_study,
    study_footprint,
)
from ablate.results import ErrorKind, TrialState

__all__ = [
    "DEFAULT_STORAGE",
    "EXPORT_TABLES",
    "SCHEMA_VERSION",
    "ErrorKind",
    "PeakMemory",
    "StoredTrial",
    "StudyFootprint",
    "StudyRecord",
    "StudyStatus",
    "StudySummary",
    "TrialCost",
    "TrialOutcome",
    "TrialRecord",
    "TrialState",
    "TrialStatus",
    "check_rename",
    "database_lock",
    "delete_study",
    "ensure_schema",
    "export_rows",
    "get_study",
    "has_schema",
    "list_studies",
    "make_engine",
    "optuna_engine_policy",
    "peak_memory_by_cell",
    "redact",
    "rename_study",
    "schema_version",
    "session_scope",
    "sqlite_path",
    "stored_study",
    "stored_trial",
    "study_class_scores",
    "study_epochs",
    "study_footprint",
    "study_scores",
    "study_status",
    "study_trials",
    "trial_costs",
    "trial_outcomes",
    "upgrade_database",
]
