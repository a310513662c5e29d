"""A toy task and a toy user loop for the training tests: 3 named classes, CPU, a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ablate.spec import TrialConfig, grid_trials, parse_study
from ablate.tasks import Task, TensorData, TrialHandle

NAMES = ("left", "middle", "right")

TOY_STUDY = """\
name: toy
data: {{n: 36}}
model: {{embed_dim: 16}}
train: {{epochs: {epochs}, batch_size: 16, lr: 1.0e-2, weight_decay: 0.0}}
seeds: [3]
"""


def toy_config(epochs: int = 4) -> TrialConfig:
    config = grid_trials(parse_study(TOY_STUDY.format(epochs=epochs)))[0]
    return config.model_copy(update={"task": "toy.py:Toy"})


def _split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 4, generator=generator) + y[:, None].float()
    return x, y


class Toy(Task):
    def load(self, config: TrialConfig, *, device: torch.device, data_root: Path) -> TensorData:
        splits = {"train": _split(90, 0), "val": _split(30, 1), "test": _split(30, 2)}
        return TensorData(splits, class_names=NAMES, device=device)

    def build_model(
        self, config: TrialConfig, *, num_classes: int, device: torch.device
    ) -> nn.Module:
        width = config.model.embed_dim
        return nn.Sequential(nn.Linear(4, width), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(width, num_classes)).to(device)  # fmt: skip

    def loss(self, output: Any, targets: torch.Tensor, config: TrialConfig):
        ce = nn.functional.cross_entropy(output, targets)
        l2 = 1e-3 * output.pow(2).mean()
        return ce + l2, {"ce": ce, "l2": l2}


def toy_loop(config: TrialConfig, trial: TrialHandle) -> None:
    """A loop of one's own: plain SGD, its state saved each epoch, dropout noise from the
    global RNG (so an exact resume needs the RNGs that ``restore`` gives back)."""
    data = Toy().load(config, device=torch.device(trial.device), data_root=trial.data_root)
    model = Toy().build_model(config, num_classes=3, device=torch.device(trial.device))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    start = 0
    if (state := trial.restore()) is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["epoch"]
    for epoch in range(start + 1, config.train.epochs + 1):
        model.train()
        total = 0.0
        for x, y in data.batches("train", batch_size=16, epoch=epoch, seed=config.seed):
            if trial.should_stop():
                return
            loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
        model.eval()
        with torch.no_grad():
            [(x, y)] = data.batches("val", batch_size=100, epoch=None, seed=0)
            logits = model(x)
        accuracy = float((logits.argmax(1) == y).float().mean())
        val_loss = float(nn.functional.cross_entropy(logits, y))
        trial.report_epoch(epoch, train_loss=total / 90, val_loss=val_loss,
                           val_accuracy=accuracy, extras={"custom": 1.0})  # fmt: skip
        trial.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "epoch": epoch})  # fmt: skip
        if trial.should_prune(epoch, accuracy):
            return
    model.eval()
    with torch.no_grad():
        for split in ("val", "test"):
            [(x, y)] = data.batches(split, batch_size=100, epoch=None, seed=0)
            trial.predictions(split, y, model(x).argmax(1), class_names=NAMES)
