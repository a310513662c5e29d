"""A few training steps of a trial's model, timed: what a time estimate falls back on before
any epoch of the study is timed.

The steps are the training loop's own (forward under the trial's precision, its loss terms,
backward, AdamW) on random inputs of the trial's batch and image size, so no data is loaded;
one warm-up step is not counted (allocations, kernel selection) unless it alone spends the
time allowed (a large model on a CPU: then it is the measurement, a slight overestimate).
Evaluation is timed the same way, forward only, per sample at the smaller of the trial's
batch and eval batch sizes (a CPU would spend seconds on one eval batch of 1024).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ablate.data._calendar import VISIT_SHAPE
from ablate.data._layout import URFC_CLASSES
from ablate.results import ModelProbe
from ablate.spec import TrialConfig
from ablate.tasks.urfc import URFC
from ablate.train.fit import _autocast, _loss_and_terms, logits_of


def probe_model(
    config: TrialConfig, *, device: str = "cpu", seconds: float = 2.0, max_steps: int = 5
) -> ModelProbe | None:
    """Time up to ``max_steps`` training steps (fewer once ``seconds`` is spent on them, at
    least one) and as many eval steps in a quarter of it; ``seconds`` 0: FLOPs only. None for
    a study with its own task (its data and model are its own, not probed)."""
    if config.task is not None:
        return None
    torch_device = torch.device(device)
    task = URFC()
    torch.manual_seed(config.seed)
    model = task.build_model(config, num_classes=len(URFC_CLASSES), device=torch_device)
    try:
        flops = task.flops(model, config)
    except Exception:  # FLOPs are informative only, as in the training loop
        flops = None
    if seconds <= 0:
        return ModelProbe(steps=0, step_s=0.0, eval_sample_s=0.0, flops=flops)
    train = config.train
    optimizer = torch.optim.AdamW(model.parameters(), lr=train.lr)
    inputs, labels = _batch(config, train.batch_size, torch_device)

    def step() -> None:
        with _autocast(torch_device, train.precision):
            output = task.forward(model, inputs, config, training=True)
            total, _ = _loss_and_terms(task, output, labels, config)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()

    model.train()
    steps, step_s = _timed(step, torch_device, budget_s=seconds * 0.75, max_steps=max_steps)
    eval_size = min(train.batch_size, train.eval_batch_size)
    eval_inputs, _ = _batch(config, eval_size, torch_device)

    @torch.no_grad()
    def eval_step() -> None:
        with _autocast(torch_device, train.precision):
            logits_of(task.forward(model, eval_inputs, config, training=False)).argmax(dim=1)

    model.eval()
    _, eval_s = _timed(eval_step, torch_device, budget_s=seconds * 0.25, max_steps=max_steps)
    return ModelProbe(steps=steps, step_s=step_s, eval_sample_s=eval_s / eval_size, flops=flops)


def _batch(
    config: TrialConfig, size: int, device: torch.device
) -> tuple[list[torch.Tensor], torch.Tensor]:
    side = config.data.image_size
    images = torch.rand(size, 3, side, side, device=device)
    visits = torch.rand(size, *VISIT_SHAPE, device=device)
    labels = torch.randint(0, len(URFC_CLASSES), (size,), device=device)
    return [images, visits], labels


def _timed(
    step: Callable[[], None], device: torch.device, *, budget_s: float, max_steps: int
) -> tuple[int, float]:
    """One warm-up call, then calls until ``max_steps`` or ``budget_s`` (at least one):
    (calls timed, mean seconds of one); a warm-up that spends the budget is the one call."""
    started = time.perf_counter()
    step()
    _sync(device)
    warm_up = time.perf_counter() - started
    if warm_up >= budget_s:
        return 1, warm_up
    times: list[float] = []
    while len(times) < max_steps and (not times or sum(times) < budget_s):
        started = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - started)
    return len(times), sum(times) / len(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
