"""SQLite on a network file system is refused, judged from a fake mount table."""

from __future__ import annotations

from pathlib import Path

import pytest

from ablate.db._fs import check_sqlite_location, filesystem_type, parse_mounts
from ablate.errors import UsageError

MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /home rw,relatime shared:2 - nfs4 fs1:/export/home rw,vers=4.2
31 30 8:2 / /home/alice/local\\040disk rw,relatime - xfs /dev/sdb1 rw
32 22 0:41 / /lustre/scratch rw - lustre 10.0.0.1@o2ib:/scratch rw,flock
33 22 0:42 / /mnt/ceph rw - fuse.ceph-fuse ceph-fuse rw
"""

PROC_MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
//nas/share /mnt/nas cifs rw,vers=3.0 0 0
"""


def test_parse_mountinfo_and_proc_mounts():
    assert ("/home/alice/local disk", "xfs") in parse_mounts(MOUNTINFO)
    assert parse_mounts(PROC_MOUNTS) == [("/", "ext4"), ("/mnt/nas", "cifs")]


@pytest.mark.parametrize(
    ("path", "fstype"),
    [
        ("/home/alice/db/ablate.sqlite", "nfs4"),
        ("/home/alice/local disk/ablate.sqlite", "xfs"),  # longest prefix wins
        ("/home2/ablate.sqlite", "ext4"),  # a prefix of the string, not of the path
        ("/lustre/scratch/u/ablate.sqlite", "lustre"),
        ("/mnt/ceph/ablate.sqlite", "fuse.ceph-fuse"),
    ],
)
def test_filesystem_type_uses_the_longest_mount_point(path, fstype):
    assert filesystem_type(Path(path), mounts_text=MOUNTINFO) == fstype


@pytest.mark.parametrize(
    "path",
    ["/home/alice/db/ablate.sqlite", "/lustre/scratch/ablate.sqlite", "/mnt/ceph/a.sqlite"],
)
def test_network_file_systems_are_refused(path):
    with pytest.raises(UsageError) as info:
        check_sqlite_location(Path(path), mounts_text=MOUNTINFO)
    assert "is on a network file system" in str(info.value)
    assert "--storage postgresql+psycopg://user@host/db" in str(info.value)


def test_exact_message_for_cifs():
    with pytest.raises(UsageError) as info:
        check_sqlite_location(Path("/mnt/nas/db/ablate.sqlite"), mounts_text=PROC_MOUNTS)
    assert str(info.value) == (
        "The SQLite results database /mnt/nas/db/ablate.sqlite is on a network file system "
        "(cifs), where SQLite's locking is unreliable and concurrent runs can corrupt it. Use "
        "PostgreSQL (--storage postgresql+psycopg://user@host/db, see docker/README.md), or put "
        "the file on a local disk (e.g. --storage sqlite:////tmp/ablate.sqlite)."
    )


@pytest.mark.parametrize("path", ["/home/alice/local disk/a.sqlite", "/tmp/a.sqlite"])
def test_local_disks_are_fine(path):
    check_sqlite_location(Path(path), mounts_text=MOUNTINFO)


def test_this_machines_tmp_is_local(tmp_path):
    check_sqlite_location(tmp_path / "ablate.sqlite")  # reads the real mount table


def test_ensure_schema_refuses_a_network_path(monkeypatch, tmp_path):
    from ablate.db import _fs, ensure_schema, make_engine

    monkeypatch.setattr(_fs, "_read_mount_table", lambda: f"1 0 0:1 / {tmp_path} rw - nfs x rw\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'ablate.sqlite'}")
    with pytest.raises(UsageError, match=r"network file system \(nfs\)"):
        ensure_schema(engine)
