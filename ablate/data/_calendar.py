"""The URFC visit calendar: 182 days from Monday 2018-10-01 to 2019-03-31, 24 hours a day."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

FIRST_DAY = date(2018, 10, 1)  # a Monday, so day d has weekday d % 7 and week d // 7
N_DAYS = 182
N_WEEKS = 26
N_HOURS = 24
VISIT_SHAPE = (7, N_WEEKS, N_HOURS)
DAY_HOURS = N_DAYS * N_HOURS

# YYYYMMDD as an integer for every day, ascending (so np.searchsorted maps a date to its day).
DATE_INTS = np.array(
    [int((FIRST_DAY + timedelta(days=d)).strftime("%Y%m%d")) for d in range(N_DAYS)],
    dtype=np.int64,
)
DATE_RANGE_TEXT = "2018-10-01…2019-03-31"


def day_hours_to_tensor(day_hours: np.ndarray) -> np.ndarray:
    """(..., 182, 24) counts -> (..., 7, 26, 24) counts indexed [day_of_week][week][hour]."""
    lead = day_hours.shape[:-2]
    by_week = day_hours.reshape(*lead, N_WEEKS, 7, N_HOURS)
    return np.ascontiguousarray(np.swapaxes(by_week, -3, -2))
