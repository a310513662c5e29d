"""What the CPU slots' fork server imports once, before it forks any worker.

A spawned worker spends ~5 s importing torch and timm; with two CPU slots on two cores those
imports (plus the scheduler's own) compete for the same cores before any trial can start.
The fork server pays them once and every CPU worker is forked from it, imports done. It hides
the GPUs before torch is imported (a CPU slot has no device) and keeps its own thread pools at
one thread, so that it forks as a single-threaded process; each worker sets its slot's torch
threads after the fork (``worker_main``).
"""

import os

from ablate.worker._task import THREAD_VARS

os.environ["CUDA_VISIBLE_DEVICES"] = ""
for _name in THREAD_VARS:
    os.environ[_name] = "1"

import torch  # noqa: E402, F401

import ablate.train.fit  # noqa: E402, F401
