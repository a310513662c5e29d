"""The data half of a trial's memory need, counted from the manifest."""

import numpy as np

from ablate.data._memory import ROW_BYTES, disk_bytes, residency_bytes, training_rows


def test_a_row_is_its_image_its_visit_counts_and_its_label():
    assert ROW_BYTES == 100 * 100 * 3 + 7 * 26 * 24 * 2 + 8


def test_residency_counts_train_val_and_test_but_not_unlabelled_rows():
    manifest = {"split_counts": {"train": 600, "val": 200, "test": 200, "unlabelled": 50}}
    assert training_rows(manifest) == {"train": 600, "val": 200, "test": 200}
    assert residency_bytes(manifest) == 1000 * ROW_BYTES
    assert residency_bytes(manifest, train_limit=100) == 500 * ROW_BYTES
    assert residency_bytes(manifest, train_limit=10_000) == 1000 * ROW_BYTES


def test_disk_bytes_sums_the_files_of_the_folder(tmp_path):
    np.save(tmp_path / "images.npy", np.zeros(1000, np.uint8))
    (tmp_path / "manifest.json").write_text("{}")
    expected = (tmp_path / "images.npy").stat().st_size + 2
    assert disk_bytes(tmp_path) == expected
