"""Deterministic stratified train/val/test split, stored in the cache."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test", "unlabelled")


def stratified_split(
    labels: np.ndarray, *, val_fraction: float, test_fraction: float, seed: int
) -> dict[str, np.ndarray]:
    """Row indices per split; each class is cut in the same proportions.

    Within a split rows are interleaved across classes (ordered by their rank within their class,
    as a fraction), so any prefix — such as ``train_limit`` rows — is itself close to stratified.
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
        "train": [],
        "val": [],
        "test": [],
    }
    for c in range(int(labels.max(initial=-1)) + 1):
        rows = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(np.floor(len(rows) * test_fraction + 0.5))
        n_val = int(np.floor(len(rows) * val_fraction + 0.5))
        cut = {"test": rows[:n_test], "val": rows[n_test : n_test + n_val]}
        cut["train"] = rows[n_test + n_val :]
        for name, chosen in cut.items():
            rank = (np.arange(len(chosen)) + 0.5) / max(len(chosen), 1)
            parts[name].append((chosen, rank, np.full(len(chosen), c)))
    splits = {}
    for name, pieces in parts.items():
        rows = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, np.int64)
        rank = np.concatenate([p[1] for p in pieces]) if pieces else np.zeros(0)
        cls = np.concatenate([p[2] for p in pieces]) if pieces else np.zeros(0, np.int64)
        splits[name] = rows[np.lexsort((cls, rank))].astype(np.int64)
    splits["unlabelled"] = np.flatnonzero(labels < 0).astype(np.int64)
    return splits
