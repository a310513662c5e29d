"""GPU training throughput: bf16 + channels_last + device-resident data vs an fp32 baseline.

Both variants train the default fused model (resnet18 + cnn2d, concat, 100×100 images) in the
same run on the same GPU. The baseline keeps the data in host memory as uint8 and copies each
batch to the GPU (as a DataLoader would); the fast path keeps the whole training set on the GPU
and slices batches there. Also reports trials packed 1, 2 and 4 per GPU (separate processes).

    python bench/bench_gpu.py [--batch 256] [--steps 40] [--samples 20000]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time

import torch

from ablate.models import build_model, compute_loss
from ablate.spec import LossSpec, ModelSpec


def _throughput(
    *, fast: bool, batch: int, steps: int, samples: int, seconds: float = 0.0
) -> float:
    device = torch.device("cuda")
    torch.manual_seed(0)
    model = build_model(ModelSpec(), LossSpec(), image_size=100).to(device)
    if fast:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    images = torch.randint(0, 255, (samples, 3, 100, 100), dtype=torch.uint8)
    visits = torch.rand(samples, 7, 26, 24)
    labels = torch.randint(0, 9, (samples,))
    if fast:
        images, visits, labels = images.to(device), visits.to(device), labels.to(device)
    else:
        images, visits, labels = images.pin_memory(), visits.pin_memory(), labels.pin_memory()

    def step(i: int) -> None:
        index = torch.randint(0, samples, (batch,))
        x, v, y = images[index], visits[index], labels[index]
        if not fast:
            x, v, y = (t.to(device, non_blocking=True) for t in (x, v, y))
        x = x.float().div_(255)
        if fast:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=fast):
            total, _ = compute_loss(model(x, v), y, LossSpec())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()

    for i in range(5):
        step(i)
    torch.cuda.synchronize()
    started = time.perf_counter()
    count = 0
    while count < steps or (seconds and time.perf_counter() - started < seconds):
        step(count)
        count += 1
    torch.cuda.synchronize()
    return batch * count / (time.perf_counter() - started)


def _packed_worker(queue, batch: int, steps: int, samples: int) -> None:
    queue.put(_throughput(fast=True, batch=batch, steps=steps, samples=samples))


def packed(n: int, *, batch: int, steps: int, samples: int) -> float:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    processes = [
        ctx.Process(target=_packed_worker, args=(queue, batch, steps, samples)) for _ in range(n)
    ]
    for p in processes:
        p.start()
    results = [queue.get() for _ in processes]
    for p in processes:
        p.join()
    return sum(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs a CUDA GPU; none is visible here.")
    print(f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}")
    base = _throughput(fast=False, batch=args.batch, steps=args.steps, samples=args.samples)
    fast = _throughput(fast=True, batch=args.batch, steps=args.steps, samples=args.samples)
    print(f"fp32, host data copied per batch:        {base:9.0f} samples/s")
    print(f"bf16 + channels_last + data on the GPU:  {fast:9.0f} samples/s")
    print(f"ratio fast / fp32 baseline: {fast / base:.2f}x")
    one = packed(1, batch=args.batch, steps=args.steps, samples=args.samples)
    for n in (2, 4):
        total = packed(n, batch=args.batch, steps=args.steps, samples=args.samples)
        print(f"{n} trials per GPU: {total:9.0f} samples/s in total, {total / one:.2f}x one trial")


if __name__ == "__main__":
    main()
