"""Built-in synthetic URFC data, written in the real raw layout (JPEGs and visit text files).

Each class has a characteristic visit calendar and a weak image look (``_synth_profiles``);
both are drowned in nuisance: a city-wide background of visitors, region popularity, few visits
per region, illumination shifts, pixel noise and some missing (black or white) tiles. Everything
is vectorised with numpy and drawn from generators seeded by (seed, part, block), so the files
are byte-identical for a given seed.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from ablate.data._calendar import DATE_INTS, DAY_HOURS, N_HOURS
from ablate.data._synth_profiles import TEXTURES, look_tables, visit_tables
from ablate.errors import DataError

BLOCK = 512  # samples drawn from one generator
SIDE = 100
# Difficulty knobs (calibrated, see the module's tests and the data report).
USERS_MEDIAN = 40.0  # visitors per region: log-normal around this
BACKGROUND_SHARE = (0.15, 0.6)  # per region, share of visitors who follow the city background
DATES_MEAN, HOURS_MEAN = 1.2, 0.8  # extra dates per visitor, extra hours per date (Poisson)
ILLUMINATION_SD = 26.0  # per-image colour shift
PIXEL_NOISE_SD = 36.0
HAZE_SD = 22.0  # low-frequency brightness field shared by all classes
TEXTURE_GAIN = 0.3
MISSING_DARK, MISSING_BRIGHT = 0.04, 0.02  # share of tiles with no imagery

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DATE_BYTES = np.frombuffer(b"".join(b"%d&" % d for d in DATE_INTS), np.uint8).reshape(-1, 9)
_HOUR_BYTES = np.frombuffer(b"".join(b"%02d" % h for h in range(24)), np.uint8).reshape(-1, 2)


def write_synthetic(out_dir: Path, *, n: int, seed: int, n_test: int = 0) -> None:
    """Write ``n`` labelled (classes balanced, ``i % 9``) and ``n_test`` unlabelled regions."""
    if n < 0 or n_test < 0 or n + n_test == 0:
        raise DataError(f"Cannot write {n} + {n_test} synthetic regions; ask for at least one.")
    out_dir = Path(out_dir)
    for c in range(1, 10):
        (out_dir / "train_image" / "train" / f"{c:03d}").mkdir(parents=True, exist_ok=True)
    (out_dir / "train_visit").mkdir(parents=True, exist_ok=True)
    if n_test:
        (out_dir / "test_image" / "test").mkdir(parents=True, exist_ok=True)
        (out_dir / "test_visit" / "test").mkdir(parents=True, exist_ok=True)
    for start in range(0, n, BLOCK):
        ids = np.arange(start, min(n, start + BLOCK))
        rng = np.random.default_rng([seed, 0, start // BLOCK])
        labels = ids % 9
        for i, label, jpeg, visits in _render(rng, labels):
            stem = f"{ids[i]:06d}_{label + 1:03d}"
            (out_dir / "train_image" / "train" / f"{label + 1:03d}" / f"{stem}.jpg").write_bytes(
                jpeg
            )
            (out_dir / "train_visit" / f"{stem}.txt").write_bytes(visits)
    for start in range(0, n_test, BLOCK):
        ids = np.arange(start, min(n_test, start + BLOCK))
        rng = np.random.default_rng([seed, 1, start // BLOCK])
        labels = rng.integers(0, 9, len(ids))
        for i, _, jpeg, visits in _render(rng, labels):
            (out_dir / "test_image" / "test" / f"{ids[i]:06d}.jpg").write_bytes(jpeg)
            (out_dir / "test_visit" / "test" / f"{ids[i]:06d}.txt").write_bytes(visits)


def _render(rng: np.random.Generator, labels: np.ndarray):
    images = render_images(rng, labels)
    visits = render_visits(rng, labels)
    for i, label in enumerate(labels):
        buffer = io.BytesIO()
        Image.fromarray(images[i]).save(buffer, format="JPEG", quality=90)
        yield i, int(label), buffer.getvalue(), visits[i]


def _sample_rows(rng: np.random.Generator, cdfs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per entry of ``rows`` from the distribution whose CDF is ``cdfs[row]``."""
    width = cdfs.shape[1]
    flat = (cdfs + np.arange(len(cdfs))[:, None]).ravel()
    picked = np.searchsorted(flat, rows + rng.random(len(rows)), side="right")
    return np.minimum(picked - rows * width, width - 1)


def render_visits(rng: np.random.Generator, labels: np.ndarray) -> list[bytes]:
    """One visit file's bytes per region."""
    day_cdf, hour_cdf = visit_tables()
    m = len(labels)
    n_users = 3 + rng.poisson(np.exp(rng.normal(np.log(USERS_MEDIAN), 0.6, m)))
    background_share = rng.uniform(*BACKGROUND_SHARE, m)
    region_of_user = np.repeat(np.arange(m), n_users)
    background = rng.random(len(region_of_user)) < background_share[region_of_user]
    profile = np.where(background, 9, labels[region_of_user])
    user_ids = rng.integers(0, 2**64 - 1, len(region_of_user), dtype=np.uint64, endpoint=True)
    user_of_date = np.repeat(
        np.arange(len(region_of_user)), 1 + rng.poisson(DATES_MEAN, len(profile))
    )
    day = _sample_rows(rng, day_cdf, profile[user_of_date])
    date_of_hour = np.repeat(np.arange(len(day)), 1 + rng.poisson(HOURS_MEAN, len(day)))
    weekend = (day[date_of_hour] % 7 >= 5).astype(np.int64)
    hour_rows = profile[user_of_date[date_of_hour]] * 2 + weekend
    hour = _sample_rows(rng, hour_cdf.reshape(-1, N_HOURS), hour_rows)
    keys = np.unique(user_of_date[date_of_hour] * DAY_HOURS + day[date_of_hour] * N_HOURS + hour)
    return _format_lines(keys, user_ids, region_of_user, m)


def _format_lines(keys: np.ndarray, user_ids: np.ndarray, region_of_user, m: int) -> list[bytes]:
    """Sorted unique (user, day, hour) keys -> the text of each region's file."""
    user, cell = keys // DAY_HOURS, keys % DAY_HOURS
    day, hour = cell // N_HOURS, cell % N_HOURS
    new_user = np.r_[True, user[1:] != user[:-1]]
    new_date = new_user | np.r_[True, day[1:] != day[:-1]]
    ends_line = np.r_[new_user[1:], True]
    rows = np.empty((len(keys), 29), dtype=np.uint8)
    shifts = np.arange(60, -1, -4, dtype=np.uint64)
    rows[:, :16] = _HEX[((user_ids[user][:, None] >> shifts) & np.uint64(15)).astype(np.intp)]
    rows[:, 16] = ord("\t")
    rows[:, 17:26] = _DATE_BYTES[day]
    rows[:, 26:28] = _HOUR_BYTES[hour]
    rows[:, 28] = np.where(
        ends_line, ord("\n"), np.where(np.r_[new_date[1:], False], ord(","), ord("|"))
    )
    keep = np.ones_like(rows, dtype=bool)
    keep[:, :17] = new_user[:, None]
    keep[:, 17:26] = new_date[:, None]
    text = rows[keep].tobytes()
    ends = np.cumsum(np.bincount(region_of_user[user], weights=keep.sum(1), minlength=m))
    ends = ends.astype(np.int64)
    return [text[a:b] for a, b in zip(np.r_[0, ends[:-1]], ends, strict=True)]


def _box_blur(field: np.ndarray, width: int) -> np.ndarray:
    """Separable box blur over the last two axes (edges clamped)."""
    for axis in (-2, -1):
        pad = [(0, 0)] * field.ndim
        pad[axis] = (width // 2 + 1, width // 2)
        summed = np.cumsum(np.pad(field, pad, mode="edge"), axis=axis)
        hi = np.take(summed, np.arange(width, width + field.shape[axis]), axis=axis)
        lo = np.take(summed, np.arange(0, field.shape[axis]), axis=axis)
        field = (hi - lo) / width
    return field


def _blocks(rng: np.random.Generator, m: int, cell: int) -> np.ndarray:
    grid = rng.standard_normal((m, SIDE // cell, SIDE // cell))
    return np.repeat(np.repeat(grid, cell, axis=1), cell, axis=2)


def _smooth(rng: np.random.Generator, m: int, cell: int) -> np.ndarray:
    field = _box_blur(_blocks(rng, m, cell), cell)
    return field / (field.std(axis=(1, 2), keepdims=True) + 1e-6)


def _texture(rng: np.random.Generator, kind: str, m: int) -> np.ndarray:
    if kind == "blocks":
        return _blocks(rng, m, 5)
    if kind == "green":
        return _smooth(rng, m, 20)
    if kind == "roofs":
        return _blocks(rng, m, 25)
    if kind == "rails":
        period = rng.uniform(5, 8, (m, 1, 1))
        phase = rng.uniform(0, 2 * np.pi, (m, 1, 1))
        stripes = np.sin(2 * np.pi * np.arange(SIDE)[None, :, None] / period + phase)
        stripes = np.broadcast_to(stripes, (m, SIDE, SIDE))
        across = rng.random(m) < 0.5
        stripes = np.where(across[:, None, None], stripes.transpose(0, 2, 1), stripes)
        return 0.8 * stripes + 0.6 * _blocks(rng, m, 20)
    return 0.7 * _blocks(rng, m, 10) + 0.5 * _smooth(rng, m, 20)  # mixed


def render_images(rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """(m, 100, 100, 3) uint8 tiles."""
    texture_of_class, base, contrast = look_tables()
    m = len(labels)
    texture = np.zeros((m, SIDE, SIDE))
    for k, kind in enumerate(TEXTURES):
        chosen = np.flatnonzero(texture_of_class[labels] == k)
        if len(chosen):
            texture[chosen] = _texture(rng, kind, len(chosen))
    image = (
        base[labels][:, None, None, :]
        + TEXTURE_GAIN * texture[..., None] * contrast[labels][:, None, None, :]
    )
    image += rng.normal(0, ILLUMINATION_SD, (m, 1, 1, 3))
    image += HAZE_SD * _smooth(rng, m, 50)[..., None]
    image += rng.normal(0, PIXEL_NOISE_SD, image.shape)
    missing = rng.random(m)
    dark = missing < MISSING_DARK
    bright = (missing >= MISSING_DARK) & (missing < MISSING_DARK + MISSING_BRIGHT)
    image[dark] = image[dark] * 0.04
    image[bright] = 255 - image[bright] * 0.03
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)
