"""Which data path a trial takes: the whole decision, one case per row."""

from __future__ import annotations

import pytest

from ablate.data._placement import DEVICE_MARGIN_BYTES, GIB, DataPlacement, choose_data_path

ROWS = 2 * GIB

CASES = [
    # requested, device, host cap, gpu cap, device free, expected path, overridden
    ("auto", "cpu", None, None, None, "stream", False),
    ("auto", "cpu", 64 * GIB, None, None, "stream", False),  # a cap never forces a copy
    ("stream", "cpu", None, None, None, "stream", False),
    ("resident", "cpu", None, None, None, "resident", False),
    ("resident", "cpu", 3 * GIB, None, None, "resident", False),
    ("resident", "cpu", 1 * GIB, None, None, "stream", True),  # over host_memory_gb
    ("resident", "cpu", None, 1 * GIB, None, "resident", False),  # gpu cap: not a CPU's
    ("auto", "cuda", None, None, 40 * GIB, "resident", False),
    ("auto", "cuda", None, None, ROWS, "stream", False),  # no room for the model
    ("auto", "cuda", None, None, ROWS + DEVICE_MARGIN_BYTES, "resident", False),
    ("auto", "cuda", None, 2 * GIB, 40 * GIB, "stream", False),  # over gpu_memory_gb
    ("resident", "cuda", None, 4 * GIB, 40 * GIB, "resident", False),
    ("resident", "cuda", None, 2 * GIB, 40 * GIB, "stream", True),
    ("resident", "cuda", None, None, 1 * GIB, "stream", True),  # the GPU is too full
    ("resident", "cuda", 1 * GIB, None, 40 * GIB, "resident", False),  # host cap: not a GPU's
    ("stream", "cuda", None, None, 40 * GIB, "stream", False),
    ("auto", "cuda", None, None, None, "resident", False),  # free memory unknown: no limit
]


@pytest.mark.parametrize(
    ("requested", "device", "host", "gpu", "free", "path", "overridden"), CASES
)
def test_the_data_path(requested, device, host, gpu, free, path, overridden) -> None:
    placement = DataPlacement(requested, gpu_cap_bytes=gpu, host_cap_bytes=host)
    decision = choose_data_path(
        placement, device_kind=device, rows_bytes=ROWS, device_free_bytes=free
    )
    assert (decision.path, decision.overridden) == (path, overridden)
    assert decision.reason


def test_an_override_says_what_did_not_fit_and_why() -> None:
    decision = choose_data_path(
        DataPlacement("resident", host_cap_bytes=GIB), device_kind="cpu", rows_bytes=ROWS
    )
    assert decision.reason == (
        "the rows take 2 GB, over resources.host_memory_gb (1 GB): streaming instead of 'resident'"
    )
