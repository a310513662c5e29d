"""What makes each synthetic class recognisable: visit calendars and image looks.

The two modalities are built to be complementary, as in the real data:

* visits pair up classes that behave alike — Industrial/Administrative (weekday office hours),
  Railway/Airport (travel peaks), Residential/Hospital (all week), Park/Shopping (weekends) —
  and only weakly separate the two members of a pair;
* images group classes by look — dense blocks (Residential, Shopping), green (School, Park,
  Hospital), large flat roofs (Industrial, Airport), rails (Railway), mixed (Administrative) —
  which cuts across the visit pairs.

So one modality alone confuses some pairs that the other tells apart, and fusion helps.
"""

from __future__ import annotations

import numpy as np

from ablate.data._calendar import N_DAYS, N_HOURS

HOURS = np.arange(N_HOURS, dtype=np.float64)
_WEEKDAYS = np.array([1, 1, 1, 1, 1, 0, 0], dtype=np.float64)  # Monday first
_WEEKEND = 1.0 - _WEEKDAYS
# Weeks (0 = from 2018-10-01) of holidays: National Day, New Year, Spring Festival travel/holiday.
NATIONAL_DAY, NEW_YEAR, SPRING_RUSH, SPRING_FESTIVAL, WINTER_BREAK = 0, 13, (16, 17), 18, (16, 21)


def _bumps(*peaks: tuple[float, float, float], floor: float = 0.05) -> np.ndarray:
    """A 24-hour profile: a floor plus Gaussian bumps (centre, width, height)."""
    profile = np.full(N_HOURS, floor)
    for centre, width, height in peaks:
        profile += height * np.exp(-0.5 * ((HOURS - centre) / width) ** 2)
    return profile / profile.sum()


def _weeks(base: float = 1.0, **multipliers: float) -> np.ndarray:
    weeks = np.full(26, base)
    named = {
        "national": [NATIONAL_DAY],
        "new_year": [NEW_YEAR],
        "rush": list(range(*SPRING_RUSH)),
        "festival": [SPRING_FESTIVAL],
        "winter": list(range(*WINTER_BREAK)),
    }
    for name, factor in multipliers.items():
        weeks[named[name]] *= factor
    return weeks


# Per class: (weekday weight, weekend weight), weekly factors, weekday hours, weekend hours.
_CLASS_VISITS = [
    ((1.0, 1.1), _weeks(festival=0.7), _bumps((7.5, 1.5, 1), (20, 2.5, 1.6), floor=0.12),
     _bumps((10, 3, 1), (20, 2.5, 1.4), floor=0.12)),  # Residential
    ((1.0, 0.25), _weeks(national=0.3, winter=0.25),
     _bumps((8, 1.2, 1.6), (12, 1, 0.8), (16.5, 1.2, 1.2)), _bumps((10, 2, 1))),  # School
    ((1.0, 0.45), _weeks(festival=0.3, national=0.5), _bumps((9, 1.5, 1), (14.5, 2.5, 1.1)),
     _bumps((11, 3, 1))),  # Industrial park
    ((1.0, 1.25), _weeks(national=2.2, rush=2.0, festival=1.6),
     _bumps((8, 2, 1), (17.5, 2.5, 1.1)), _bumps((10, 3, 1), (17, 3, 1.2))),  # Railway station
    ((1.0, 1.15), _weeks(national=1.8, rush=1.7, festival=1.3), _bumps((7, 2, 1), (19, 3, 1.1)),
     _bumps((9, 3, 1), (19, 3, 1.1))),  # Airport
    ((0.7, 1.7), _weeks(national=1.8, festival=1.5, new_year=1.5),
     _bumps((9, 2.5, 1), (16, 2, 0.8)), _bumps((11, 3, 1.5), (15, 2, 1))),  # Park
    ((0.8, 1.6), _weeks(national=1.6, new_year=1.4, festival=1.2),
     _bumps((12.5, 1.5, 0.6), (19.5, 2, 1.4)), _bumps((14, 3.5, 1.2), (20, 2, 1))),  # Shopping
    ((1.0, 0.35), _weeks(festival=0.35, national=0.4), _bumps((9.5, 1.5, 1), (15, 2, 1)),
     _bumps((10, 3, 1))),  # Administrative district
    ((1.0, 0.8), _weeks(festival=0.75), _bumps((8.5, 1.8, 1.4), (14, 2.5, 0.7), floor=0.1),
     _bumps((9.5, 2.5, 1), (15, 3, 0.5), floor=0.1)),  # Hospital
]  # fmt: skip

# A city-wide background that every region shares (commuters passing through).
_BACKGROUND = ((1.0, 1.0), _weeks(festival=0.8), _bumps((8, 2, 1), (18, 3, 1.2), floor=0.15),
               _bumps((13, 5, 1), floor=0.15))  # fmt: skip


def visit_tables() -> tuple[np.ndarray, np.ndarray]:
    """Day CDFs (10, 182) and hour CDFs (10, 2, 24): rows 0–8 the classes, row 9 background.

    Hour row [k, 1] is for weekend days.
    """
    day_cdf = np.zeros((10, N_DAYS))
    hour_cdf = np.zeros((10, 2, N_HOURS))
    days = np.arange(N_DAYS)
    for k, ((wd, we), weeks, hours_wd, hours_we) in enumerate([*_CLASS_VISITS, _BACKGROUND]):
        per_day = (_WEEKDAYS * wd + _WEEKEND * we)[days % 7] * weeks[days // 7]
        day_cdf[k] = np.cumsum(per_day) / per_day.sum()
        hour_cdf[k, 0] = np.cumsum(hours_wd)
        hour_cdf[k, 1] = np.cumsum(hours_we)
    day_cdf[:, -1] = 1.0
    hour_cdf[..., -1] = 1.0
    return day_cdf, hour_cdf


# Image looks: texture kind, base RGB (0–255), RGB contrast of the texture.
TEXTURES = ("blocks", "green", "roofs", "rails", "mixed")
_LOOKS = {
    "blocks": ((128, 112, 108), (34, 30, 28)),
    "green": ((92, 118, 84), (20, 30, 18)),
    "roofs": ((142, 146, 150), (36, 36, 38)),
    "rails": ((118, 110, 100), (40, 38, 34)),
    "mixed": ((112, 118, 110), (30, 30, 28)),
}
# class -> (texture, small class-specific colour shift)
CLASS_LOOKS = [
    ("blocks", (6, -2, -4)),  # Residential
    ("green", (-4, 6, 2)),  # School
    ("roofs", (-3, 0, 6)),  # Industrial park
    ("rails", (0, 0, 0)),  # Railway station
    ("roofs", (4, 2, -4)),  # Airport
    ("green", (-6, 4, -6)),  # Park
    ("blocks", (-5, 0, 8)),  # Shopping area
    ("mixed", (0, 0, 0)),  # Administrative district
    ("green", (4, -4, 4)),  # Hospital
]


def look_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class: texture index (9,), base colour (9, 3) and texture contrast (9, 3)."""
    texture = np.array([TEXTURES.index(t) for t, _ in CLASS_LOOKS])
    base = np.array([np.add(_LOOKS[t][0], shift) for t, shift in CLASS_LOOKS], dtype=np.float64)
    contrast = np.array([_LOOKS[t][1] for t, _ in CLASS_LOOKS], dtype=np.float64)
    return texture, base, contrast
