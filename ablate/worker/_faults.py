"""Fault injection for the failure-handling tests (``ABLATE_INJECT_FAULT``).

Format: ``KIND@EPOCH[:KEY=VALUE,...]``, several separated by ';'. KIND is one of ``abort``
(the process dies with SIGABRT, like a segfault), ``raise`` (an exception in training),
``oom`` (a CUDA out-of-memory error), ``usage`` (a usage error: a problem in the study) or
``stall`` (the trial hangs for $ABLATE_INJECT_STALL_S seconds, default 8, then goes on). It
fires after epoch EPOCH (also when that epoch is replayed from a checkpoint: a deterministic
bug recurs) of the trials whose config matches every KEY=VALUE (keys: ``seed``,
``batch_size`` or a grid factor like ``model.modality``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ablate.spec import TrialConfig


@dataclass(frozen=True)
class Fault:
    kind: str
    epoch: int
    match: dict[str, str]

    def applies(self, config: TrialConfig, epoch: int) -> bool:
        if epoch != self.epoch:
            return False
        values = {
            "seed": str(config.seed),
            "batch_size": str(config.train.batch_size),
            **{key: str(value) for key, value in config.cell.items()},
        }
        return all(values.get(key) == value for key, value in self.match.items())

    def fire(self) -> None:
        if self.kind == "stall":  # a slow epoch, for the stall notification's test
            import time

            time.sleep(float(os.environ.get("ABLATE_INJECT_STALL_S", "8")))
            return
        if self.kind == "abort":
            os.abort()
        if self.kind == "usage":
            from ablate.errors import UsageError

            raise UsageError("injected usage error (ABLATE_INJECT_FAULT): the study asks for X")
        if self.kind == "oom":
            import torch

            raise torch.cuda.OutOfMemoryError(
                "CUDA out of memory (simulated by ABLATE_INJECT_FAULT)"
            )
        raise RuntimeError("injected failure (ABLATE_INJECT_FAULT)")


def parse_faults(text: str | None) -> tuple[Fault, ...]:
    """Faults separated by ';', e.g. ``abort@1:seed=0;oom@1:batch_size=64``."""
    faults = []
    for item in (text or "").split(";"):
        if not item.strip():
            continue
        head, _, tail = item.strip().partition(":")
        kind, _, epoch = head.partition("@")
        match = dict(pair.split("=", 1) for pair in tail.split(",") if "=" in pair)
        faults.append(Fault(kind=kind, epoch=int(epoch or 1), match=match))
    return tuple(faults)
