"""A snapshot of a running study for live display (the scheduler never prints)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ablate.spec import cell_text


@dataclass(frozen=True)
class SlotView:
    slot: str
    trial: int | None = None
    cell: str = ""
    seed: int | None = None
    epoch: int = 0
    epochs: int = 0
    val_accuracy: float | None = None
    eta_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Snapshot:
    study: str
    total: int  # runs the study needs (grid cells × seeds, or n_trials)
    complete: int
    failed: int
    pruned: int
    running: int
    slots: tuple[SlotView, ...] = ()
    message: str = ""
    events: tuple[str, ...] = field(default_factory=tuple)  # things worth a line of their own
    # a search with confirmation: ('search', finished, n_trials), ('confirm', complete, total)
    phases: tuple[tuple[str, int, int], ...] = ()
    eta: str = ""  # the study's: 'ETA ≈ 12 min (5 run(s) left on 2 running slot(s))'


@dataclass(frozen=True)
class RunSummary:
    study: str
    total: int
    complete: int
    failed: int
    pruned: int
    trained: int  # trials this invocation started
    already_complete: bool
    gave_up: tuple[str, ...] = ()
    stopped: bool = False
    phases: tuple[tuple[str, int, int], ...] = ()  # as in Snapshot
    estimate: str = ""  # 'estimated 12m 30s, took 14m 02s (+12 %)' when the study finished


def phases_text(phases: tuple[tuple[str, int, int], ...]) -> str:
    """'search 60/60, confirm 4/9' ('' for a study without phases)."""
    return ", ".join(f"{name} {done}/{total}" for name, done, total in phases)


def snapshot(
    study: str,
    total: int,
    ledger: Any,
    active: Iterable[Any],
    *,
    message: str = "",
    events: tuple[str, ...] = (),
    phases: tuple[tuple[str, int, int], ...] = (),
    eta: str = "",
) -> Snapshot:
    """What the live view shows now (``ledger``: the study's runs; ``active``: its trials
    running here)."""
    slots = tuple(
        SlotView(
            slot=a.slot.label,
            trial=a.number,
            cell=(f"{a.config.phase}: " if a.config.phase else "")
            + cell_text({**a.config.cell, **a.config.params}),
            seed=a.config.seed,
            epoch=a.epoch,
            epochs=a.epochs,
            val_accuracy=a.val_accuracy,
            eta_s=a.eta_s(),
        )
        for a in active
    )
    return Snapshot(
        study=study,
        total=total,
        complete=len(ledger.complete),
        failed=sum(ledger.failures.values()),
        pruned=len(ledger.pruned),
        running=len(slots),
        slots=slots,
        message=message,
        events=events,
        phases=phases,
        eta=eta,
    )
