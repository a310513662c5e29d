"""Training samples/s of the default fused model on this machine's CPU.

Baseline in the same run: the RS-only model (the image branch alone), so the ratio shows what
the second branch and the fusion cost. Prints samples/s for both and their ratio.

    .venv/bin/python bench/bench_train.py [--batch 32] [--steps 6] [--image-size 100]
"""

from __future__ import annotations

import argparse
import time

import torch

from ablate.models import build_model, compute_loss
from ablate.spec import LossSpec, ModelSpec


def samples_per_second(spec: ModelSpec, *, batch: int, steps: int, image_size: int) -> float:
    torch.manual_seed(0)
    model = build_model(spec, LossSpec(), image_size=image_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, image_size, image_size)
    visits = torch.rand(batch, 7, 26, 24)
    labels = torch.randint(0, 9, (batch,))

    def step() -> None:
        total, _ = compute_loss(model(images, visits), labels, LossSpec())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()

    step()  # warm-up
    started = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--image-size", type=int, default=100)
    args = parser.parse_args()
    fused = samples_per_second(
        ModelSpec(), batch=args.batch, steps=args.steps, image_size=args.image_size
    )
    rs_only = samples_per_second(
        ModelSpec(modality="rs"), batch=args.batch, steps=args.steps, image_size=args.image_size
    )
    print(f"torch threads: {torch.get_num_threads()}, batch {args.batch}, {args.image_size}px")
    print(f"default fused model (resnet18 + cnn2d, concat): {fused:8.1f} samples/s")
    print(f"baseline RS-only (resnet18 alone):              {rs_only:8.1f} samples/s")
    print(f"ratio fused / RS-only: {fused / rs_only:.2f}x")


if __name__ == "__main__":
    main()
