"""Training loader: DeviceData batches (CPU) against torchvision ImageFolder + PIL DataLoader,
and DeviceData's two paths against each other (stream: batches gathered from the memory map by
a prefetch thread; resident: the rows copied once).

    .venv/bin/python bench/bench_loader.py [--n 3000] [--batch 256]

Both read the same JPEGs' pixels and apply flips, normalisation and batching; the baseline
decodes every JPEG every epoch (as the competition code did) and does not even load visits.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from ablate.data import open_cache, prepare_cache, write_synthetic
from ablate.data._placement import DataPlacement
from ablate.data.loader import DeviceData
from ablate.spec import DataSpec


def _device_data_rate(
    cache_dir: Path, batch: int, epochs: int, device: str, path: str = "auto"
) -> float:
    start = time.perf_counter()
    placement = DataPlacement(requested=path)
    loader = DeviceData.load(
        open_cache(cache_dir), DataSpec(), device=torch.device(device), placement=placement
    )
    print(
        f"DeviceData.load on {device} ({path}): {time.perf_counter() - start:.2f} s "
        "(once per trial)"
    )
    start = time.perf_counter()
    seen = 0
    for epoch in range(epochs):
        for _images, _visits, labels in loader.batches(
            "train", batch_size=batch, epoch=epoch, seed=0, reuse_buffers=True
        ):
            seen += len(labels)
    if device == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def _image_folder_rate(raw: Path, batch: int, epochs: int, workers: int) -> float:
    transform = transforms.Compose([
        transforms.RandomHorizontalFlip(),
        transforms.RandomVerticalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.45, 0.46, 0.44), (0.2, 0.2, 0.2)),
    ])  # fmt: skip
    dataset = datasets.ImageFolder(raw / "train_image" / "train", transform=transform)
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        for _images, labels in loader:
            seen += len(labels)
    return seen / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu", help="where DeviceData puts the arrays")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        raw, cache = Path(tmp) / "raw", Path(tmp) / "cache"
        write_synthetic(raw, n=args.n, seed=0)
        prepare_cache(raw, cache, val_fraction=0.01, test_fraction=0.01)
        resident = _device_data_rate(cache, args.batch, args.epochs, args.device, "resident")
        print(
            f"DeviceData ({args.device}, resident), {args.epochs} epochs : "
            f"{resident:9,.0f} samples/s"
        )
        fast = _device_data_rate(cache, args.batch, args.epochs, args.device, "stream")
        print(f"DeviceData ({args.device}, stream), {args.epochs} epochs : {fast:9,.0f} samples/s"
              f"  RATIO stream/resident {fast / resident:.2f}x")  # fmt: skip
        for workers in (0, min(os.cpu_count() or 1, 8)):
            slow = _image_folder_rate(raw, args.batch, args.epochs, workers)
            print(f"ImageFolder + PIL DataLoader, {workers} workers : {slow:9,.0f} samples/s"
                  f"  RATIO {fast / slow:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
