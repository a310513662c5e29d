"""``ablate check``: resume verified, not trusted.

One tiny version of a study's first run is trained four times in a scratch folder, on the
CPU with one torch thread: (a) uninterrupted, (b) the same again, to know the task is
deterministic at all, (c) interrupted halfway through epoch k+1, after epoch k's checkpoint,
and (d) resumed from that checkpoint. (d) must repeat (a) exactly, epoch by epoch and in its
final scores; where it does not, the state each run started the first resumed epoch from
(weights, optimiser, RNGs, first batch) says what the checkpoint failed to carry.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from ablate.errors import UsageError
from ablate.results import FitStatus, TrialResult
from ablate.scheduler._resume_probe import PARTS, CheckReporter, StateProbe
from ablate.spec import (
    StudySpec,
    TrialConfig,
    cell_text,
    grid_trials,
    plugin_refs,
    resolve,
    task_ref,
)

THREADS = 1  # on a CPU the last digits depend on the thread count: one, whatever the machine
_FINAL_FIELDS = ("status", "best_epoch", "objective", "val", "test", "n_params", "flops")


class Verdict(StrEnum):
    VERIFIED = "verified"
    DIFFERS = "differs"  # the resumed run is not the uninterrupted one
    NOT_DETERMINISTIC = "not deterministic"  # two uninterrupted runs already differ

    @property
    def exit_code(self) -> int:
        """0 verified, 1 the runs differ (or two uninterrupted runs already do)."""
        return 0 if self == Verdict.VERIFIED else 1


@dataclass(frozen=True)
class CheckPlan:
    """The run the check trains, and what was made smaller than the study's ("path a → b")."""

    config: TrialConfig
    shrunk: tuple[str, ...]
    stop_after: int  # the epoch whose checkpoint the interrupted run leaves

    @property
    def label(self) -> str:
        return f"{cell_text({**self.config.cell, **self.config.params})}, seed {self.config.seed}"


@dataclass(frozen=True)
class ResumeCheck:
    verdict: Verdict
    summary: str  # one line
    details: tuple[str, ...] = ()


def plan_check(
    spec: StudySpec,
    *,
    epochs: int = 3,
    stop_after: int = 1,
    train_limit: int | None = None,
    batch_size: int | None = None,
) -> CheckPlan:
    """The study's first planned run with fewer epochs (and, if asked, fewer training rows
    and a smaller batch)."""
    if epochs < 2 or not 1 <= stop_after < epochs:
        raise UsageError(
            f"--stop-after {stop_after} with --epochs {epochs}: the check stops after an epoch "
            "and resumes before the last, so it needs 1 <= --stop-after < --epochs."
        )
    first = grid_trials(spec)[0] if spec.search is None else None
    config = first or resolve(spec, seed=spec.seeds[0], cell={})
    changes: dict[str, Any] = {"train.epochs": epochs}
    if train_limit is not None:
        changes["data.train_limit"] = train_limit
    if batch_size is not None:
        changes["train.batch_size"] = batch_size
    tree = config.model_dump(mode="json")
    shrunk = []
    for path, value in changes.items():
        section, name = path.split(".")
        before = tree[section][name]
        if before != value and not (name == "train_limit" and before and before <= value):
            tree[section][name] = value
            shrunk.append(f"{path} {'—' if before is None else before} → {value}")
    try:
        config = TrialConfig.model_validate(tree)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise UsageError(f"The check cannot use {where}: {error['msg']}.") from None
    return CheckPlan(config, tuple(shrunk), stop_after)


def check_resume(
    spec: StudySpec,
    plan: CheckPlan,
    *,
    spec_path: Path,
    data_root: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> ResumeCheck:
    """Train ``plan`` four times (see the module docstring) and compare; nothing of the
    study's database or checkpoints is touched. Each run loads its data afresh, as a new
    worker would, so that state a data object keeps between epochs is not carried over."""
    from ablate.tasks import load_code
    from ablate.train.fit import fit

    extra = {"task": load_code(plugin_refs(spec, spec_path), task_ref(spec, spec_path))}
    k, n = plan.stop_after, plan.config.train.epochs
    with _one_thread(), tempfile.TemporaryDirectory(prefix="ablate-check-") as scratch:
        folder = Path(scratch)

        def train(name: str, reporter: CheckReporter, checkpoint: str) -> TrialResult:
            started = time.perf_counter()
            result = fit(
                plan.config, device="cpu", data_root=data_root,
                checkpoint_path=folder / checkpoint, report=reporter, **extra,
            )  # fmt: skip
            progress(f"      {name}: {result.status} in {time.perf_counter() - started:.1f} s")
            return result

        progress(f"[1/4] uninterrupted run, {n} epochs")
        first = CheckReporter(probe=StateProbe(k + 1))
        with first.watching():
            a = train("uninterrupted", first, "a.pt")
        progress("[2/4] the same again, to see whether the task is deterministic")
        again = CheckReporter()
        b = train("again", again, "b.pt")
        if (difference := _first_difference(first, a, again, b)) is not None:
            shown = _shown(difference, names=("in the first", "in the second"))
            return ResumeCheck(
                Verdict.NOT_DETERMINISTIC,
                "two uninterrupted runs already differ: the task is not deterministic; "
                "resume cannot be checked",
                (f"first difference: {shown}", *_NOT_DETERMINISTIC),
            )
        progress(f"[3/4] interrupted run, stopped during epoch {k + 1}")
        stopping = CheckReporter(stop_in=k + 1)
        c = train("interrupted", stopping, "resumed.pt")
        if c.status != FitStatus.STOPPED:
            return ResumeCheck(
                Verdict.DIFFERS,
                f"the interrupted run did not stop when asked during epoch {k + 1} (it ended "
                f"{c.status}): the training loop does not check should_stop()",
            )
        saved = _user_state_keys(folder / "resumed.pt")
        progress(f"[4/4] resumed run, from the checkpoint of epoch {k}")
        resumed = CheckReporter(probe=StateProbe(k + 1))
        with resumed.watching():
            d = train("resumed", resumed, "resumed.pt")
    verdict = _verdict(plan, first, a, resumed, d, stopping)
    if verdict.verdict == Verdict.DIFFERS and saved is not None:
        return ResumeCheck(
            verdict.verdict, verdict.summary, (*verdict.details, _saved_note(saved))
        )
    return verdict


def _user_state_keys(checkpoint: Path) -> tuple[str, ...] | None:
    """The keys of the state a user loop saved (``trial.save``); None for ablate's own loop."""
    if not checkpoint.is_file():
        return None
    payload = torch.load(checkpoint, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("kind") != "user_loop":
        return None
    return tuple(str(k) for k in dict(payload.get("state") or {}))


def _saved_note(keys: tuple[str, ...]) -> str:
    """What a user loop's checkpoint holds, and what it seems to miss."""
    held = ", ".join(keys) or "nothing"
    if not any("optim" in key.lower() for key in keys):
        return (
            f"the optimiser state is not saved: the loop's trial.save() holds only {held}; "
            "save optimizer.state_dict() (and any scheduler or scaler) and load it back after "
            "trial.restore()"
        )
    return f"the loop's trial.save() holds {held}: make sure each is loaded back after restore()"


_LIKELY_CAUSES = (
    "likely causes: the optimiser state is not restored; the RNG state is not restored; "
    "the data order depends on the process rather than on (seed, epoch)",
)
_NOT_DETERMINISTIC = (
    "likely causes: a random source that is not seeded from the trial's seed (e.g. a "
    "generator made once at import), data order that depends on the process, or "
    "nondeterministic kernels (try train.deterministic: true)",
)


@contextmanager
def _one_thread() -> Iterator[None]:
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)


def _verdict(
    plan: CheckPlan,
    first: CheckReporter,
    a: TrialResult,
    resumed: CheckReporter,
    d: TrialResult,
    stopping: CheckReporter,
) -> ResumeCheck:
    notes = tuple(f"the resumed run noted: {note}" for note in resumed.notes)
    if d.resumed_from_epoch == 0:
        return ResumeCheck(
            Verdict.DIFFERS,
            "the resumed run started again from epoch 1: its checkpoint was not written or "
            "not read",
            notes,
        )
    start, batches = d.resumed_from_epoch, stopping.stopped_after_batches
    where = (
        f"interrupted after {batches} batch{'' if batches == 1 else 'es'} of epoch "
        f"{plan.stop_after + 1}, resumed from epoch {start}"
    )
    for x, y in zip(first.epochs, resumed.epochs, strict=False):
        if (difference := _diff(_epoch_numbers(x), _epoch_numbers(y), f"epoch {x.epoch}")) is None:
            continue
        shown = _shown(difference)
        if x.epoch <= start:
            return ResumeCheck(
                Verdict.DIFFERS,
                f"resume differs: {shown}",
                ("the epochs replayed from the checkpoint are not the ones trained: its "
                 "history is not what the run reported", where, *notes),
            )  # fmt: skip
        if x.epoch == start + 1:
            diagnosis = _diagnosis(first.probe, resumed.probe, x.epoch)
            return ResumeCheck(Verdict.DIFFERS, f"resume differs: {shown}", (*diagnosis, where))
        return ResumeCheck(
            Verdict.DIFFERS,
            f"resume differs: {shown}",
            (f"epoch {start + 1}, the first resumed one, matched: state that changes from "
             "epoch to epoch is not restored (e.g. a learning-rate scheduler or a gradient "
             "scaler)", where, *notes),
        )  # fmt: skip
    if len(first.epochs) != len(resumed.epochs):
        return ResumeCheck(
            Verdict.DIFFERS,
            f"resume differs: the uninterrupted run has {len(first.epochs)} epochs, the "
            f"resumed one {len(resumed.epochs)}",
            (where, *notes),
        )
    final = {name: asdict(a)[name] for name in _FINAL_FIELDS}
    if (difference := _diff(final, {n: asdict(d)[n] for n in _FINAL_FIELDS}, "final")) is None:
        return ResumeCheck(
            Verdict.VERIFIED,
            f"resume verified: {len(first.epochs)} epochs and the final scores are identical",
            (where, *notes),
        )
    return ResumeCheck(
        Verdict.DIFFERS,
        f"resume differs: {_shown(difference)}",
        ("every epoch matched: the best-so-far (best epoch, its scores) is not restored",
         where, *notes),
    )  # fmt: skip


def _diagnosis(before: StateProbe | None, after: StateProbe | None, epoch: int) -> list[str]:
    """What differed between the two runs' states at the start of ``epoch``."""
    if before is None or after is None or set(before.parts) != set(PARTS) != set(after.parts):
        return list(_LIKELY_CAUSES)
    differ = [part for part in PARTS if before.parts[part] != after.parts.get(part)]
    rng = [part for part in differ if part.startswith("rng.")]
    lines = [f"at the start of epoch {epoch}, " + ", ".join(PARTS[p] for p in differ)
             + " differed from the uninterrupted run's" if differ else ""]  # fmt: skip
    if "weights" in differ:
        lines.append("the model weights are not restored")
    if "optimiser" in differ:
        lines.append("the optimiser state is not restored")
    if rng:
        lines.append(
            "the RNG state is not restored (or something draws from it between loading the "
            "checkpoint and training)"
        )
    if "batch" in differ:
        lines.append(
            "the first batch differs too (it may draw from the RNG)"
            if rng
            else "the data order depends on the process rather than on (seed, epoch)"
        )
    if not differ:
        lines = [
            f"the model weights, optimiser state, RNG states and first batch of epoch {epoch} "
            "were the same in both runs: something else the loop keeps is not in the "
            "checkpoint (a learning-rate scheduler, a gradient scaler, an average of the "
            "weights, a counter)"
        ]
    return lines


def _first_difference(
    x: CheckReporter, x_result: TrialResult, y: CheckReporter, y_result: TrialResult
) -> tuple[str, Any, Any] | None:
    for x_epoch, y_epoch in zip(x.epochs, y.epochs, strict=False):
        found = _diff(_epoch_numbers(x_epoch), _epoch_numbers(y_epoch), f"epoch {x_epoch.epoch}")
        if found is not None:
            return found
    if len(x.epochs) != len(y.epochs):
        return ("number of epochs", len(x.epochs), len(y.epochs))
    finals = [{name: asdict(r)[name] for name in _FINAL_FIELDS} for r in (x_result, y_result)]
    return _diff(*finals, "final")


def _epoch_numbers(epoch: Any) -> dict[str, Any]:
    numbers = asdict(epoch)
    numbers.pop("seconds")  # wall time is the one number that may differ
    return numbers


def _diff(x: Any, y: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first place where ``x`` and ``y`` differ (NaN equals NaN), as (path, x, y)."""
    if isinstance(x, dict) and isinstance(y, dict):
        for key in [*x, *(k for k in y if k not in x)]:
            if key not in x or key not in y:
                return (f"{path}.{key}", x.get(key, "missing"), y.get(key, "missing"))
            if (found := _diff(x[key], y[key], f"{path}.{key}")) is not None:
                return found
        return None
    if isinstance(x, (list, tuple)) and isinstance(y, (list, tuple)):
        if len(x) != len(y):
            return (f"{path} length", len(x), len(y))
        for index, (xi, yi) in enumerate(zip(x, y, strict=True)):
            if (found := _diff(xi, yi, f"{path}[{index}]")) is not None:
                return found
        return None
    if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
        return None
    return None if x == y else (path, x, y)


def _shown(
    difference: tuple[str, Any, Any], *, names: tuple[str, str] = ("uninterrupted", "resumed")
) -> str:
    """'epoch 2 train_loss is 0.71 uninterrupted, 0.74 resumed'."""
    path, x, y = difference
    return f"{path.replace('.', ' ', 1)} is {x!r} {names[0]}, {y!r} {names[1]}"
