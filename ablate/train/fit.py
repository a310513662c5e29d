"""The training loop: fit(config, device, report) -> result. Read it top to bottom.

Resumes bit-for-bit from the last complete epoch: the data order and augmentation of an
epoch depend only on (seed, epoch), and the checkpoint carries model, optimiser and RNGs.
The test split is evaluated only at a new best-validation epoch and never chooses anything.
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

from ablate.data import ensure_dataset, open_cache
from ablate.data.loader import DeviceData
from ablate.models import build_model, compute_loss, count_flops, count_parameters
from ablate.results import ClassScores, EpochResult, FitStatus, SplitScores, TrialResult
from ablate.spec import DataSpec, TrialConfig
from ablate.train._lr import cosine_lr
from ablate.train._metrics import confusion_matrix, scores_from_confusion
from ablate.train._report import Reporter
from ablate.train.checkpoint import (
    DamagedCheckpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _objective(scores: SplitScores, metric: str) -> float:
    return {
        "val_accuracy": scores.accuracy,
        "val_loss": scores.loss,
        "val_kappa": scores.kappa,
        "val_macro_f1": scores.macro_f1,
    }[metric]


def _autocast(device: torch.device, precision: str) -> torch.autocast:
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16)


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    data: DeviceData,
    split: str,
    *,
    epoch: int,
    batch_size: int,
    precision: str,
) -> SplitScores:
    """Loss (plain cross-entropy of the main head) and metrics on a split; restores train mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    predictions, labels = [], []
    batches = data.batches(split, batch_size=batch_size, epoch=None, seed=0, reuse_buffers=True)
    for images, visits, target in batches:  # each batch is used before the next is made
        with _autocast(device, precision):
            logits = model(images, visits).logits
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


def _better(value: float, best: float | None, direction: str) -> bool:
    if best is None:
        return True
    return value > best if direction == "maximize" else value < best


def load_data(data: DataSpec, *, data_root: Path, device: torch.device) -> DeviceData:
    """The trial's data as device-resident arrays (made once per data spec and machine)."""
    cache = open_cache(ensure_dataset(data, root=data_root))
    return DeviceData.load(cache, data, device=device)


@dataclass
class _Trial:
    """What one training run holds while it trains."""

    config: TrialConfig
    device: torch.device
    data: DeviceData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    channels_last: bool
    steps_per_epoch: int


def _setup(config: TrialConfig, device: torch.device, data: DeviceData) -> _Trial:
    """Model (initialised from the seed), optimiser and memory format for a trial."""
    train = config.train
    model = build_model(
        config.model,
        config.loss,
        num_classes=len(data.class_names),
        image_size=config.data.image_size,
    ).to(device)
    channels_last = train.channels_last is True or (
        train.channels_last == "auto" and device.type == "cuda"
    )
    if channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr, weight_decay=train.weight_decay)
    steps = math.ceil(data.num_samples("train") / train.batch_size)
    return _Trial(config, device, data, model, optimizer, channels_last, steps)


def fit(
    config: TrialConfig,
    *,
    device: str,
    data_root: Path,
    checkpoint_path: Path | None,
    report: Reporter,
    data: DeviceData | None = None,
    best_path: Path | None = None,
) -> TrialResult:
    """Train one trial to the end (or until pruned/stopped) and return its final metrics.

    ``data`` may be passed in when a worker already holds this trial's data on the device.
    ``best_path``: also save the model weights of each new best-validation epoch there.
    """
    torch_device = torch.device(device)
    if config.train.deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    seed_everything(config.seed)
    if data is None:
        data = load_data(config.data, data_root=data_root, device=torch_device)
    trial = _setup(config, torch_device, data)
    n_params = count_parameters(trial.model)

    start, best, history, flops = 0, _empty_best(), [], None
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
        best = _best_from_state(state["best"], data.class_names)
        for item in history:
            report.epoch(EpochResult(**item), replayed=True)
        trained_with = state.get("threads")
        if trained_with is not None and trained_with != torch.get_num_threads():
            report.note(
                f"resumed with {torch.get_num_threads()} torch thread(s), trained so far with "
                f"{trained_with}: on a CPU the last digits of its numbers can differ from an "
                "uninterrupted run's (use the same --threads-per-slot for identical numbers)"
            )
    if flops is None:
        flops = _flops_or_none(trial.model, config.data.image_size)

    def result(status: FitStatus) -> TrialResult:
        return _result(status, best, n_params, flops, config.train.batch_size, start, device)

    for epoch in range(start + 1, config.train.epochs + 1):
        started = time.perf_counter()
        trained = _train_epoch(trial, epoch, report)
        if trained is None:
            return result(FitStatus.STOPPED)
        means, lr = trained
        val = _evaluate(trial, "val", epoch)
        value = _objective(val, config.objective.metric)
        if _better(value, best["objective"], config.objective.direction):
            test = _evaluate(trial, "test", epoch)  # only ever reported, never used to choose
            best = {"epoch": epoch, "objective": value, "val": val, "test": test}
            if best_path is not None:
                save_checkpoint(best_path, _best_weights(trial, epoch, value))
        extras = {k: v for k, v in means.items() if k != "train_loss"}
        extras.update({"val_kappa": val.kappa, "val_macro_f1": val.macro_f1})
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
                    "best": _best_state(best),
                    "history": history,
                    "flops": flops,
                    "threads": torch.get_num_threads(),
                },
            )
        report.epoch(epoch_report, replayed=False)
        if epoch < config.train.epochs and report.should_prune(epoch, value):
            return result(FitStatus.PRUNED)
    return result(FitStatus.COMPLETE)


def _train_epoch(
    trial: _Trial, epoch: int, report: Reporter
) -> tuple[dict[str, float], float] | None:
    """One pass over the training split: per-sample means of the loss, its terms and stats,
    and the last learning rate; None if the user asked to stop (checked before every batch)."""
    train, model, optimizer = trial.config.train, trial.model, trial.optimizer
    total_steps = trial.steps_per_epoch * train.epochs
    warmup_steps = trial.steps_per_epoch * train.warmup_epochs
    model.train()
    sums: dict[str, torch.Tensor] = {}
    seen, lr = 0, train.lr
    batches = trial.data.batches(
        "train",
        batch_size=train.batch_size,
        epoch=epoch,
        seed=trial.config.seed,
        reuse_buffers=True,  # each batch's step is done before the next batch is made
    )
    for index, (images, visits, labels) in enumerate(batches):
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
        if trial.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with _autocast(trial.device, train.precision):
            output = model(images, visits)
            total, terms = compute_loss(output, labels, trial.config.loss)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        if train.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train.grad_clip)
        optimizer.step()
        n = labels.shape[0]
        seen += n
        _accumulate(sums, "train_loss", total.detach().float() * n)
        for name, value in terms.items():
            _accumulate(sums, f"loss.{name}", value.detach().float() * n)
        for name, value in output.stats.items():
            _accumulate(sums, name, torch.as_tensor(value).detach().float() * n)
    return {name: float(value.item()) / max(1, seen) for name, value in sums.items()}, lr


def _evaluate(trial: _Trial, split: str, epoch: int) -> SplitScores:
    train = trial.config.train
    return evaluate(
        trial.model,
        trial.data,
        split,
        epoch=epoch,
        batch_size=train.eval_batch_size,
        precision=train.precision,
    )


def _best_weights(trial: _Trial, epoch: int, value: float) -> dict[str, Any]:
    return {
        "run_key": trial.config.run_key,
        "config": trial.config.model_dump(mode="json"),
        "epoch": epoch,
        "objective": value,
        "model": trial.model.state_dict(),
    }


def _empty_best() -> dict[str, Any]:
    return {"epoch": 0, "objective": None, "val": None, "test": None}


def _best_state(best: dict[str, Any]) -> dict[str, Any]:
    """The best-so-far as plain values for the checkpoint (``torch.load(weights_only=True)``)."""
    return {**best, **{s: asdict(best[s]) if best[s] else None for s in ("val", "test")}}


def _best_from_state(state: dict[str, Any], class_names: tuple[str, ...]) -> dict[str, Any]:
    return {
        **state,
        **{s: _scores(state[s], s, state["epoch"], class_names) for s in ("val", "test")},
    }


def _scores(
    state: dict[str, Any] | None, split: str, epoch: int, class_names: tuple[str, ...]
) -> SplitScores | None:
    if state is None:
        return None
    if "classes" not in state:  # a checkpoint written before the one result type
        classes = ClassScores(
            names=class_names,
            accuracy=tuple(state["class_accuracy"]),
            support=tuple(state["class_support"]),
            confusion=tuple(tuple(row) for row in state["confusion"]),
        )
        summary = {k: state[k] for k in ("accuracy", "kappa", "macro_f1", "loss", "n_samples")}
        return SplitScores(split=split, epoch=epoch, classes=classes, **summary)
    classes = state["classes"]
    return SplitScores(
        **{**state, "classes": ClassScores(
            names=tuple(classes["names"]),
            accuracy=tuple(classes["accuracy"]),
            support=tuple(classes["support"]),
            confusion=tuple(tuple(row) for row in classes["confusion"]),
        )}
    )  # fmt: skip


def _accumulate(sums: dict[str, torch.Tensor], name: str, value: torch.Tensor) -> None:
    sums[name] = sums[name] + value if name in sums else value


def _flops_or_none(model: torch.nn.Module, image_size: int) -> float | None:
    try:
        return float(count_flops(model, image_size=image_size))
    except Exception:  # FLOPs are informative only; an exotic layer must not fail the trial
        return None


def _result(
    status: FitStatus,
    best: dict[str, Any],
    n_params: int,
    flops: float | None,
    batch_size: int,
    resumed_from: int,
    device: str,
) -> TrialResult:
    return TrialResult(
        status=status,
        best_epoch=best["epoch"],
        objective=best["objective"],
        val=best["val"],
        test=best["test"],
        n_params=n_params,
        flops=flops,
        batch_size=batch_size,
        resumed_from_epoch=resumed_from,
        device=device,
    )
