"""Epoch checkpoints: a plain dict, written atomically, loaded with ``weights_only=True``.

A checkpoint holds everything needed to continue a run bit-for-bit: model, optimiser, RNG
states, the epoch, the best-so-far and its metrics, the epoch history, and the config.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ablate._files import write_atomic

CHECKPOINT_VERSION = 1


def rng_state() -> dict[str, Any]:
    """Every RNG a run may touch, in a form ``torch.load(weights_only=True)`` accepts."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "cached": cached,
        },
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
        "python_gauss": random.getstate()[2],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["cached"],
        )
    )
    random.setstate((state["python_version"], tuple(state["python"]), state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write to a temp file, fsync, rename over ``path``, fsync the folder: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The pid in the name: ``ablate gc`` removes a temporary only once its writer is gone.
    write_atomic(
        path,
        lambda handle: torch.save({"version": CHECKPOINT_VERSION, **payload}, handle),
        tmp=path.with_name(f".{path.name}.{os.getpid()}.tmp"),
    )


class DamagedCheckpoint(Exception):
    """A checkpoint that cannot be read; it has been moved to ``set_aside``."""

    def __init__(self, path: Path, set_aside: Path, reason: str) -> None:
        super().__init__(f"checkpoint {path} is damaged ({reason}); set aside as {set_aside}")
        self.path, self.set_aside, self.reason = path, set_aside, reason


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None if there is none (or it is from another version).

    A file that does not load (truncated by a full disk or a copy cut short, overwritten…)
    is renamed ``<name>.damaged-<time>`` so that nothing loads it again, and
    ``DamagedCheckpoint`` says where it went: the caller starts the run afresh.
    """
    if not path.exists():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(payload, dict):
            raise ValueError(f"holds a {type(payload).__name__}, not a checkpoint")
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, …
        reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        set_aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
        os.replace(path, set_aside)
        raise DamagedCheckpoint(path, set_aside, reason.rstrip(": ")) from None
    if payload.get("version") != CHECKPOINT_VERSION:
        return None
    return payload
