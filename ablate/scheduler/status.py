"""``ablate status``: the picture of a study from the database, from any terminal (the
queries live in ``ablate.db``)."""

from ablate.db import StudyStatus, TrialStatus, stored_study, study_status

__all__ = ["StudyStatus", "TrialStatus", "stored_study", "study_status"]
