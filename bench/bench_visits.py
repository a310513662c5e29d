"""Visit parsing: the vectorised parser against the per-line reference on the same files.

    .venv/bin/python bench/bench_visits.py [--files 1500] [--users 150]

Prints the speed-up on one core and with 2 worker processes, the prepare throughput on
synthetic data, and a projection for the 440k files of the final round on a 16-core server.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import ablate.data.synthetic as synthetic
from ablate.data import parse_visit_files, prepare_cache, write_synthetic

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_parser

FINAL_ROUND_FILES = 440_000  # visit files (400k train + 100k test, minus the unusable)
SERVER_CORES = 16


def _write_visits(folder: Path, files: int, users: float) -> list[Path]:
    synthetic.USERS_MEDIAN = users  # denser files, closer to the real ones
    paths = []
    for start in range(0, files, 500):
        labels = np.arange(start, min(files, start + 500)) % 9
        for i, text in enumerate(synthetic.render_visits(np.random.default_rng(start), labels)):
            path = folder / f"{start + i:06d}.txt"
            path.write_bytes(text)
            paths.append(path)
    return paths


def _timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1500)
    parser.add_argument("--users", type=float, default=150.0, help="median lines per file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write_visits(Path(tmp), args.files, args.users)
        size_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(
            f"{len(paths)} visit files, {size_mb:.1f} MB ({size_mb * 1e3 / len(paths):.1f} KB/f)"
        )
        t_ref, (ref_counts, _) = _timed(lambda: reference_parser.parse_files(paths))
        t_one, fast = _timed(lambda: parse_visit_files(paths))
        t_two, fast2 = _timed(lambda: parse_visit_files(paths, workers=2))
        assert np.array_equal(fast.counts, ref_counts) and np.array_equal(fast2.counts, ref_counts)
        print(f"reference per-line parser : {t_ref:7.2f} s  {size_mb / t_ref:7.1f} MB/s")
        print(f"vectorised, 1 process     : {t_one:7.2f} s  {size_mb / t_one:7.1f} MB/s"
              f"  RATIO {t_ref / t_one:.1f}x")  # fmt: skip
        print(f"vectorised, 2 workers     : {t_two:7.2f} s  {size_mb / t_two:7.1f} MB/s"
              f"  RATIO {t_ref / t_two:.1f}x (includes spawning the workers)")  # fmt: skip
        raw, cache = Path(tmp) / "raw", Path(tmp) / "cache"
        synthetic.USERS_MEDIAN = args.users
        write_synthetic(raw, n=1000, seed=0)
        t_prep, _ = _timed(lambda: prepare_cache(raw, cache))
        jpeg_mb = sum(p.stat().st_size for p in raw.rglob("*.jpg")) / 1e6
        visit_mb = sum(p.stat().st_size for p in raw.rglob("*.txt")) / 1e6
        t_visits, _ = _timed(lambda: parse_visit_files(sorted(raw.rglob("*.txt"))))
        per_sample_images = (t_prep - t_visits) / 1000
        print(f"prepare_cache, 1 process  : {1000 / t_prep:7.0f} samples/s "
              f"({jpeg_mb:.1f} MB JPEG + {visit_mb:.1f} MB visits)")  # fmt: skip
        _project(size_mb / t_one, per_sample_images)


def _project(visit_mb_per_s: float, image_s_per_sample: float) -> None:
    for kb_per_file in (20, 100):
        visits_s = FINAL_ROUND_FILES * kb_per_file / 1e3 / visit_mb_per_s
        images_s = FINAL_ROUND_FILES * image_s_per_sample
        total = (visits_s + images_s) / SERVER_CORES
        print(f"projection, final round ({FINAL_ROUND_FILES:,} files, {kb_per_file} KB per visit) "
              f"on {SERVER_CORES} cores: {total / 60:.1f} min "
              f"(visits {visits_s / 3600:.2f} core-h + images {images_s / 3600:.2f} core-h, "
              "linear scaling, disk not the bottleneck)")  # fmt: skip


if __name__ == "__main__":
    main()
