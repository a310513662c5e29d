"""The cache's big arrays, stacked from the chunk files a few hundred rows at a time.

Neither side is memory-mapped: the pages of a memory map a process has written stay in its
resident set while the map is open, so stacking 12 GB of images through ``np.memmap`` ends with
12 GB of RSS. Rows are read from a chunk's ``.npz`` member as a stream and written with plain
writes, and the file is the one ``np.save`` would write for the whole array.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from ablate._files import write_atomic

ROWS_PER_READ = 256
_READ_HEADER = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def kept_rows(
    chunk: Path, name: str, keep: np.ndarray, *, rows_per_read: int = ROWS_PER_READ
) -> Iterator[np.ndarray]:
    """The rows of array ``name`` of the ``.npz`` file ``chunk`` where ``keep`` is true."""
    with zipfile.ZipFile(chunk) as archive, archive.open(f"{name}.npy") as member:
        version = np.lib.format.read_magic(member)
        shape, fortran_order, dtype = _READ_HEADER[version](member)
        if fortran_order or shape[0] != len(keep):
            raise ValueError(f"{chunk}: {name} has shape {shape}, expected {len(keep)} rows")
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        for start in range(0, shape[0], rows_per_read):
            count = min(rows_per_read, shape[0] - start)
            data = member.read(count * row_bytes)
            rows = np.frombuffer(data, dtype=dtype).reshape(count, *shape[1:])
            yield rows[keep[start : start + count]]


def save_stacked(
    path: Path, parts: Iterable[np.ndarray], shape: tuple[int, ...], dtype: np.dtype
) -> None:
    """Write ``parts`` one after another as the array ``shape`` (atomically, like ``np.save``)."""
    dtype = np.dtype(dtype)
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": shape,
    }

    def write(handle) -> None:
        np.lib.format.write_array_header_1_0(handle, header)
        rows = 0
        for part in parts:
            handle.write(np.ascontiguousarray(part, dtype=dtype).data)
            rows += len(part)
        if rows != shape[0]:
            raise ValueError(f"{path}: wrote {rows} rows, expected {shape[0]}")

    write_atomic(path, write)
