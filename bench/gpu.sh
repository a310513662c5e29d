#!/usr/bin/env bash
# Run on a machine with an NVIDIA GPU: install, test the CUDA path, print the GPU benchmark.
#   bash bench/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-gpu && .venv-gpu/bin/pip install -q -e '.[test]'
nvidia-smi --query-gpu=name,memory.total,memory.used --format=csv
.venv-gpu/bin/python - <<'PY'
import torch
from ablate.models import build_model, compute_loss
from ablate.spec import LossSpec, ModelSpec
from ablate.scheduler import DevicePool
assert torch.cuda.is_available(), "no CUDA device visible"
pool = DevicePool(gpus="auto", per_gpu=2)
print("device pool:", pool.describe())
model = build_model(ModelSpec(fusion="cross_attention"), LossSpec(deep_supervision=0.3, distillation=0.2)).cuda()
x, v, y = torch.randn(8, 3, 100, 100).cuda(), torch.rand(8, 7, 26, 24).cuda(), torch.randint(0, 9, (8,)).cuda()
with torch.autocast("cuda", dtype=torch.bfloat16):
    total, terms = compute_loss(model(x, v), y, LossSpec(deep_supervision=0.3, distillation=0.2))
total.backward()
print("CUDA forward/backward ok:", {k: round(float(t), 4) for k, t in terms.items()})
PY
.venv-gpu/bin/python bench/bench_gpu.py "$@"
