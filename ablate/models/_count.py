"""Model size and cost: parameter count and forward FLOPs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ablate.models._visit import DAYS_OF_WEEK, HOURS, WEEKS


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not), each counted once."""
    return sum(parameter.numel() for parameter in model.parameters())


def _lstm_flops(lstm: nn.LSTM, sequence: torch.Tensor) -> int:
    """Matrix-product FLOPs of an LSTM forward: 4 gates × (input + hidden) per step and layer."""
    steps = sequence.shape[1] if lstm.batch_first else sequence.shape[0]
    batch = sequence.shape[0] if lstm.batch_first else sequence.shape[1]
    directions = 2 if lstm.bidirectional else 1
    total = 0
    for layer in range(lstm.num_layers):
        inputs = lstm.input_size if layer == 0 else lstm.hidden_size * directions
        total += 2 * 4 * lstm.hidden_size * (inputs + lstm.hidden_size) * steps * batch
    return total * directions


@contextmanager
def _count_fused_rnns(model: nn.Module, counter: FlopCounterMode) -> Iterator[list[int]]:
    """FlopCounterMode sees fused LSTM kernels as one uncounted op; count those analytically.

    An LSTM is added only when the counter did not move during its call, so a backend on which
    the LSTM decomposes into counted matrix products is not counted twice.
    """
    extra: list[int] = []
    before: dict[int, int] = {}

    def pre_hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        before[id(module)] = counter.get_total_flops()

    def post_hook(module: nn.Module, args: tuple[torch.Tensor, ...], output: object) -> None:
        if counter.get_total_flops() == before[id(module)]:
            extra.append(_lstm_flops(module, args[0]))  # type: ignore[arg-type]

    handles = []
    for module in model.modules():
        if isinstance(module, nn.LSTM):
            handles += [
                module.register_forward_pre_hook(pre_hook),
                module.register_forward_hook(post_hook),
            ]
    try:
        yield extra
    finally:
        for handle in handles:
            handle.remove()


def count_flops(model: nn.Module, *, image_size: int) -> float:
    """Forward FLOPs for one sample (a multiply-add counts as 2), in eval mode.

    Counted by ``torch.utils.flop_counter``: convolutions and matrix products (LSTMs
    analytically); element-wise operations, normalisation and pooling are not counted.
    """
    parameter = next(model.parameters())
    images = torch.zeros(1, 3, image_size, image_size, device=parameter.device)
    visits = torch.zeros(1, DAYS_OF_WEEK, WEEKS, HOURS, device=parameter.device)
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter, _count_fused_rnns(model, counter) as extra:
            model(images, visits)
    finally:
        model.train(was_training)
    return float(counter.get_total_flops() + sum(extra))
