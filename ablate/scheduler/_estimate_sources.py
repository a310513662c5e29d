"""Epoch times for cells not timed yet: a similar timed cell scaled by FLOPs, else a probe.

Two cells are similar when their runs see the same data at the same batch sizes and precision
(they differ in the model or the loss). An untimed cell then takes the similar timed cell's
epoch time × the ratio of their FLOPs, the closest such cell, if that ratio is within
``FLOPS_RATIO_BOUND`` either way: beyond it, what FLOPs do not count (data, evaluation,
element-wise layers, the optimiser) dominates one of the two and the ratio misleads. Every
other untimed cell's model is probed: a few training steps timed on the device
(``ablate.train.probe``), × the batches of an epoch (rows from the cache manifest), plus its
validation pass. One probe per distinct model.

``probe(configs, seconds)`` is the caller's: in this process for ``--dry-run``
(``probe_here``), a slot's worker for ``ablate run`` (``probe_in_worker``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

from ablate.data._memory import planned_rows
from ablate.results import ModelProbe
from ablate.scheduler._estimate import Basis, Borrowed
from ablate.scheduler._workers import Workers
from ablate.scheduler.devices import DevicePool, Slot
from ablate.spec import TrialConfig, cell_key, cell_text
from ablate.worker._messages import ModelsProbed, ProbeModels

Probe = Callable[[list[TrialConfig], float], list[ModelProbe | None]]
FLOPS_RATIO_BOUND = 4.0
PROBE_S = 2.0  # seconds of training steps per distinct model (plus its warm-up step)


def borrowed_epochs(
    planned: list[TrialConfig],
    epoch_seconds: Mapping[str, tuple[float, int]],
    *,
    probe: Probe,
    data_root: Path,
    seconds: float = PROBE_S,
) -> dict[str, Borrowed]:
    """Cell key → epoch time of each planned cell without timed epochs that a similar timed
    cell or a probe can tell (``seconds`` 0: no probe, FLOPs only)."""
    firsts: dict[str, TrialConfig] = {}
    for config in planned:
        firsts.setdefault(cell_key(config.cell), config)
    timed = {k: s / n for k, (s, n) in epoch_seconds.items() if n and k in firsts}
    untimed = [k for k in firsts if k not in timed]
    similar = {k: [t for t in timed if _similar(firsts[k], firsts[t])] for k in untimed}
    counted = list(dict.fromkeys(k for u in untimed if similar[u] for k in (u, *similar[u])))
    flops = {k: p.flops for k, p in _per_cell(counted, firsts, probe, 0.0).items() if p}
    found: dict[str, Borrowed] = {}
    for key in untimed:
        if (scaled := _scaled(key, similar[key], flops, timed, firsts)) is not None:
            found[key] = scaled
    rest = [k for k in untimed if k not in found]
    if not rest or seconds <= 0:
        return found
    for key, measured in _per_cell(rest, firsts, probe, seconds).items():
        config = firsts[key]
        rows = planned_rows(config.data, data_root=data_root)
        if measured is None or not measured.steps or rows is None:
            continue
        steps = "step" if measured.steps == 1 else "steps"
        found[key] = Borrowed(
            probe_epoch_s(measured, rows, batch_size=config.train.batch_size),
            Basis.PROBE,
            f"probe {measured.steps} {steps}",
        )
    return found


def probe_epoch_s(probe: ModelProbe, rows: Mapping[str, int], *, batch_size: int) -> float:
    """An epoch from a probe: its training batches, then the validation pass (the test split
    is evaluated only at a new best epoch: left out)."""
    batches = math.ceil(rows.get("train", 0) / batch_size)
    return batches * probe.step_s + rows.get("val", 0) * probe.eval_sample_s


def _similar(a: TrialConfig, b: TrialConfig) -> bool:
    ta, tb = a.train, b.train
    return (a.data, a.task, ta.batch_size, ta.eval_batch_size, ta.precision) == (
        b.data, b.task, tb.batch_size, tb.eval_batch_size, tb.precision,
    )  # fmt: skip


def _scaled(
    key: str,
    candidates: list[str],
    flops: Mapping[str, float | None],
    timed: Mapping[str, float],
    firsts: Mapping[str, TrialConfig],
) -> Borrowed | None:
    """The closest similar timed cell by FLOPs within the bound, its epoch scaled."""
    own = flops.get(key)
    ratios = {t: own / f for t in candidates if own and (f := flops.get(t))}
    near = {t: r for t, r in ratios.items() if 1 / FLOPS_RATIO_BOUND <= r <= FLOPS_RATIO_BOUND}
    if not near:
        return None
    best = min(near, key=lambda t: abs(math.log(near[t])))
    source = f"scaled by FLOPs from cell {cell_text(firsts[best].cell)} (×{near[best]:.2g})"
    return Borrowed(timed[best] * near[best], Basis.FLOPS, source)


def model_key(config: TrialConfig) -> str:
    """What a probe's timing depends on: the model and loss, the input, batch sizes, precision."""
    train = config.train
    parts = (config.model, config.loss, config.task, config.data.image_size, train.batch_size,
             train.eval_batch_size, train.precision, train.channels_last)  # fmt: skip
    return repr(tuple(p.model_dump_json() if hasattr(p, "model_dump_json") else p for p in parts))


def _per_cell(
    keys: list[str], firsts: Mapping[str, TrialConfig], probe: Probe, seconds: float
) -> dict[str, ModelProbe | None]:
    """Each cell's probe, one per distinct model."""
    models = {model_key(firsts[k]): firsts[k] for k in keys}
    if not models:
        return {}
    probes = dict(zip(models, probe(list(models.values()), seconds), strict=False))
    return {k: probes.get(model_key(firsts[k])) for k in keys}


def probe_here(*, device: str, threads: int) -> Probe:
    """Probes in this process (it imports torch: ``--dry-run``), with the slot's threads."""

    def run(configs: list[TrialConfig], seconds: float) -> list[ModelProbe | None]:
        import torch

        from ablate.train.probe import probe_model

        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            return [probe_model(c, device=device, seconds=seconds) for c in configs]
        finally:
            torch.set_num_threads(before)

    return run


def probe_in_worker(pool: DevicePool, workers: Workers) -> Probe:
    """Probes on a free slot's worker, on its device (this process never imports torch). A
    worker that does not answer in time is dropped, so no late reply meets a trial."""

    def run(configs: list[TrialConfig], seconds: float) -> list[ModelProbe | None]:
        slot = pool.acquire()
        if slot is None:
            return [None] * len(configs)
        try:
            return _ask(workers, slot, configs, seconds)
        finally:
            pool.release(slot)

    return run


def _ask(
    workers: Workers, slot: Slot, configs: list[TrialConfig], seconds: float
) -> list[ModelProbe | None]:
    device = "cuda:0" if slot.kind == "cuda" else "cpu"  # the worker sees its one GPU as 0
    worker = workers.get(slot)
    try:
        worker.conn.send(ProbeModels(tuple(configs), seconds, device))
        wait_s = 60 + len(configs) * (4 * seconds + 10)  # model building, the warm-up step
        reply = worker.conn.recv() if worker.conn.poll(wait_s) else None
    except (EOFError, OSError):
        reply = None
    if not isinstance(reply, ModelsProbed):
        workers.drop(slot)
        return [None] * len(configs)
    return list(reply.probes) or [None] * len(configs)
