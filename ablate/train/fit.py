"""The training loop: fit(config, device, report) -> result. Read it top to bottom.

Everything task-specific (data, model, forward pass, loss, FLOPs) comes from a task object
(``ablate.tasks``); the built-in URFC task goes through this same path. Resumes bit-for-bit
from the last complete epoch: the data order and augmentation of an epoch depend only on
(seed, epoch), and the checkpoint carries model, optimiser and RNGs. The test split is
evaluated only at a new best-validation epoch and never chooses anything. A user loop (a
function ``train(config, trial)``) is run by ``ablate.train._user_loop`` instead.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ablate.data.loader import DeviceData
from ablate.errors import UsageError
from ablate.models import count_parameters
from ablate.results import METRICS, EpochResult, FitStatus, SplitScores, TrialResult
from ablate.spec import DataSpec, TrialConfig
from ablate.tasks import Task, TaskData, UserLoop
from ablate.tasks.urfc import URFC, URFCData
from ablate.train._lr import cosine_lr
from ablate.train._memory import peak_memory_bytes
from ablate.train._metrics import confusion_matrix, scores_from_confusion
from ablate.train._report import Reporter
from ablate.train._state import (
    best_from_state,
    best_state,
    better,
    empty_best,
    objective,
    trial_result,
)
from ablate.train.checkpoint import (
    DamagedCheckpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)

OWN_COLUMNS = ("accuracy", "loss")  # stored per epoch as val_accuracy and val_loss


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _autocast(device: torch.device, precision: str) -> torch.autocast:
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)


def logits_of(output: Any) -> torch.Tensor:
    """A task's model returns its logits, or an object holding them as ``.logits``."""
    return output.logits if hasattr(output, "logits") else output


@torch.no_grad()
def evaluate(
    task: Task, model: torch.nn.Module, data: TaskData, split: str, *, epoch: int,
    config: TrialConfig,
) -> SplitScores:  # fmt: skip
    """Loss (plain cross-entropy of the logits, whatever the task's training loss, so that
    val_loss compares across loss variants) and metrics on a split; restores train mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    predictions, labels = [], []
    batches = data.batches(split, batch_size=config.train.eval_batch_size, epoch=None, seed=0)
    for *inputs, target in batches:  # each batch is used before the next is made
        with _autocast(device, config.train.precision):
            logits = logits_of(task.forward(model, inputs, config, training=False))
        loss_sum += F.cross_entropy(logits.float(), target, reduction="sum").double()
        predictions.append(logits.argmax(dim=1).cpu())
        labels.append(target.cpu())
    model.train(was_training)
    y = torch.cat(labels).numpy()
    matrix = confusion_matrix(y, torch.cat(predictions).numpy(), len(data.class_names))
    loss = float(loss_sum.item()) / max(1, len(y))
    return scores_from_confusion(
        matrix, loss=loss, split=split, epoch=epoch, class_names=data.class_names
    )


def load_data(data: DataSpec, *, data_root: Path, device: torch.device) -> DeviceData:
    """The URFC trial's data as device-resident arrays (made once per data spec and machine)."""
    return URFC().load(_data_only(data), device=device, data_root=data_root).device_data


def load_task_data(
    task: Task | UserLoop, config: TrialConfig, *, data_root: Path, device: torch.device
) -> TaskData | None:
    """The data a worker keeps for the trials after this one (None for a user loop, which
    loads its own)."""
    if not isinstance(task, Task):
        return None
    return task.load(config, device=device, data_root=data_root)


def _data_only(data: DataSpec) -> TrialConfig:
    """A config that carries only ``data`` (what a task's ``load`` may read)."""
    return TrialConfig.model_construct(data=data)


def resolve_task(config: TrialConfig, task: Task | UserLoop | None) -> Task | UserLoop:
    if task is not None:
        return task
    if config.task is not None:
        raise UsageError(
            f"The trial names task {config.task}, but no task object reached the training "
            "loop; load it with ablate.tasks.load_task and pass task= to fit."
        )
    return URFC()


@dataclass
class _Trial:
    """What one training run holds while it trains."""

    config: TrialConfig
    device: torch.device
    task: Task
    data: TaskData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    steps_per_epoch: int
    measured: bool = False  # the peak after the first training batch was reported


def _setup(config: TrialConfig, device: torch.device, task: Task, data: TaskData) -> _Trial:
    """Model (initialised from the seed) and optimiser for a trial."""
    train = config.train
    num_classes = len(data.class_names)
    model = task.build_model(config, num_classes=num_classes, device=device).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    steps = math.ceil(data.num_samples("train") / train.batch_size)
    return _Trial(config, device, task, data, model, optimizer, steps)


def fit(
    config: TrialConfig,
    *,
    device: str,
    data_root: Path,
    checkpoint_path: Path | None,
    report: Reporter,
    data: TaskData | DeviceData | None = None,
    best_path: Path | None = None,
    task: Task | UserLoop | None = None,
) -> TrialResult:
    """Train one trial to the end (or until pruned/stopped) and return its final metrics.

    ``task``: what ``ablate.tasks.load_task`` made of the study's ``task:`` (None: URFC).
    ``data`` may be passed in when a worker already holds this trial's data on the device.
    ``best_path``: also save the model weights of each new best-validation epoch there.
    """
    task = resolve_task(config, task)
    if not isinstance(task, Task):
        from ablate.train._user_loop import fit_user_loop

        return fit_user_loop(
            task, config, device=device, data_root=data_root,
            checkpoint_path=checkpoint_path, report=report,
        )  # fmt: skip
    torch_device = torch.device(device)
    if config.train.deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    seed_everything(config.seed)
    if data is None:
        data = task.load(config, device=torch_device, data_root=data_root)
    elif isinstance(data, DeviceData):  # a caller that loaded URFC data itself
        data = URFCData(data)
    trial = _setup(config, torch_device, task, data)
    data_path = data_path_of(data)
    n_params = count_parameters(trial.model)

    start, best, history, flops = 0, empty_best(), [], None
    try:
        state = load_checkpoint(checkpoint_path) if checkpoint_path else None
    except DamagedCheckpoint as damaged:
        report.note(f"{damaged}; the trial starts again from epoch 1")
        state = None
    if state is not None and state["run_key"] == config.run_key:
        trial.model.load_state_dict(state["model"])
        trial.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"])
        start, history, flops = state["epoch"], state["history"], state["flops"]
        best = best_from_state(state["best"], data.class_names)
        for item in history:
            report.epoch(EpochResult(**item), replayed=True)
        note_threads(report, state.get("threads"))
    if flops is None:
        flops = _flops_or_none(task, trial.model, config)

    def result(status: FitStatus) -> TrialResult:
        return trial_result(
            status, best, n_params=n_params, flops=flops, batch_size=config.train.batch_size,
            resumed_from=start, device=device, data_path=data_path,
            peak_memory_bytes=peak_memory_bytes(torch_device),
        )  # fmt: skip

    for epoch in range(start + 1, config.train.epochs + 1):
        started = time.perf_counter()
        trained = _train_epoch(trial, epoch, report)
        if trained is None:
            return result(FitStatus.STOPPED)
        means, lr = trained
        val = _evaluate(trial, "val", epoch)
        value = objective(val, config.objective.metric)
        if better(value, best["objective"], config.objective.direction):
            test = _evaluate(trial, "test", epoch)  # only ever reported, never used to choose
            best = {"epoch": epoch, "objective": value, "val": val, "test": test}
            if best_path is not None:
                save_checkpoint(best_path, _best_weights(trial, epoch, value))
        extras = {k: v for k, v in means.items() if k != "train_loss"}
        # every validation metric without a column of its own (kappa, macro-F1, …) per epoch
        extras.update(
            {f"val_{m.name}": getattr(val, m.name) for m in METRICS if m.name not in OWN_COLUMNS}
        )
        epoch_report = EpochResult(
            epoch=epoch,
            train_loss=means["train_loss"],
            val_loss=val.loss,
            val_accuracy=val.accuracy,
            lr=lr,
            seconds=time.perf_counter() - started,
            extras=extras,
        )
        history.append(asdict(epoch_report))
        if checkpoint_path is not None:
            save_checkpoint(
                checkpoint_path,
                {
                    "run_key": config.run_key,
                    "config": config.model_dump(mode="json"),
                    "epoch": epoch,
                    "model": trial.model.state_dict(),
                    "optimizer": trial.optimizer.state_dict(),
                    "rng": rng_state(),
                    "best": best_state(best),
                    "history": history,
                    "flops": flops,
                    "threads": torch.get_num_threads(),
                },
            )
        report.epoch(epoch_report, replayed=False)
        if epoch < config.train.epochs and report.should_prune(epoch, value):
            return result(FitStatus.PRUNED)
    return result(FitStatus.COMPLETE)


def data_path_of(data: TaskData) -> str:
    """How a task's data holds its rows, if it says (``data_path``: 'resident' | 'stream')."""
    return str(getattr(data, "data_path", ""))


def note_threads(report: Reporter, trained_with: int | None) -> None:
    if trained_with is not None and trained_with != torch.get_num_threads():
        report.note(
            f"resumed with {torch.get_num_threads()} torch thread(s), trained so far with "
            f"{trained_with}: on a CPU the last digits of its numbers can differ from an "
            "uninterrupted run's (use the same --threads-per-slot for identical numbers)"
        )


def _loss_and_terms(
    task: Task, output: Any, targets: torch.Tensor, config: TrialConfig
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    found = task.loss(output, targets, config)
    if isinstance(found, tuple):
        total, terms = found
        return total, dict(terms)
    return found, {}


def _train_epoch(
    trial: _Trial, epoch: int, report: Reporter
) -> tuple[dict[str, float], float] | None:
    """One pass over the training split: per-sample means of the loss, its terms and stats,
    and the last learning rate; None if the user asked to stop (checked before every batch)."""
    config, model, optimizer = trial.config, trial.model, trial.optimizer
    train = config.train
    total_steps = trial.steps_per_epoch * train.epochs
    warmup_steps = trial.steps_per_epoch * train.warmup_epochs
    model.train()
    sums: dict[str, torch.Tensor] = {}
    seen, lr = 0, train.lr
    batches = trial.data.batches(
        "train", batch_size=train.batch_size, epoch=epoch, seed=config.seed
    )  # each batch's step is done before the next batch is made
    for index, (*inputs, labels) in enumerate(batches):
        if report.should_stop():
            return None
        step = (epoch - 1) * trial.steps_per_epoch + index
        lr = cosine_lr(
            step,
            base_lr=train.lr,
            total_steps=total_steps,
            warmup_steps=warmup_steps,
            min_lr_ratio=train.min_lr_ratio,
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        with _autocast(trial.device, train.precision):
            output = trial.task.forward(model, inputs, config, training=True)
            total, terms = _loss_and_terms(trial.task, output, labels, config)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if train.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
        optimizer.step()
        if not trial.measured:  # activations and optimiser state exist now: the real need
            trial.measured = True
            report.measured(peak_memory_bytes(trial.device), data_path_of(trial.data))
        n = labels.shape[0]
        seen += n
        _accumulate(sums, "train_loss", total.detach().float() * n)
        for name, value in terms.items():
            _accumulate(sums, f"loss.{name}", value.detach().float() * n)
        for name, value in (getattr(output, "stats", None) or {}).items():
            _accumulate(sums, name, torch.as_tensor(value).detach().float() * n)
    return {name: float(value.item()) / max(1, seen) for name, value in sums.items()}, lr


def _evaluate(trial: _Trial, split: str, epoch: int) -> SplitScores:
    return evaluate(trial.task, trial.model, trial.data, split, epoch=epoch, config=trial.config)


def _best_weights(trial: _Trial, epoch: int, value: float) -> dict[str, Any]:
    return {
        "run_key": trial.config.run_key,
        "config": trial.config.model_dump(mode="json"),
        "epoch": epoch,
        "objective": value,
        "model": trial.model.state_dict(),
    }


def _accumulate(sums: dict[str, torch.Tensor], name: str, value: torch.Tensor) -> None:
    sums[name] = sums[name] + value if name in sums else value


def _flops_or_none(task: Task, model: torch.nn.Module, config: TrialConfig) -> float | None:
    try:
        return task.flops(model, config)
    except Exception:  # FLOPs are informative only; an exotic layer must not fail the trial
        return None
