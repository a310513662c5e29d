"""Refuse SQLite files on network file systems.

SQLite relies on POSIX locks and, in WAL mode, on shared memory between processes; both are
broken or missing on NFS, SMB, Lustre, GPFS and friends, where concurrent writers corrupt the
file or fail with "database is locked". Several machines (a Slurm array, two lab servers)
must share PostgreSQL instead.
"""

from __future__ import annotations

from pathlib import Path

from ablate.errors import UsageError

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "lustre", "gpfs", "beegfs",
        "ceph", "fuse.ceph", "fuse.ceph-fuse", "glusterfs", "fuse.glusterfs", "gfs2", "ocfs2",
        "orangefs", "pvfs2", "panfs", "wekafs", "fuse.sshfs", "fuse.s3fs", "fuse.juicefs",
        "davfs", "fuse.davfs2", "fuse.gcsfuse", "fuse.rclone",
    }
)  # fmt: skip


def _unescape(field: str) -> str:
    # The kernel writes space, tab, newline and backslash in mount points as octal escapes.
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mounts(text: str) -> list[tuple[str, str]]:
    """(mount point, file system type) pairs from /proc/self/mountinfo or /proc/mounts text."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if " - " in line:  # mountinfo: ... mount_point options [optional...] - fstype source ...
            after = line.split(" - ", 1)[1].split()
            if len(fields) >= 5 and after:
                mounts.append((_unescape(fields[4]), after[0]))
        elif len(fields) >= 3:  # /proc/mounts: source mount_point fstype options dump pass
            mounts.append((_unescape(fields[1]), fields[2]))
    return mounts


def _read_mount_table() -> str:
    for name in ("/proc/self/mountinfo", "/proc/mounts"):
        try:
            return Path(name).read_text()
        except OSError:
            continue
    return ""  # not Linux: nothing to check against


def filesystem_type(path: Path, *, mounts_text: str | None = None) -> str | None:
    """The type of the file system holding ``path`` (longest mount-point prefix), or None."""
    text = _read_mount_table() if mounts_text is None else mounts_text
    resolved = path.resolve()
    best, best_type = -1, None
    for mount_point, fstype in parse_mounts(text):
        point = Path(mount_point)
        if (resolved == point or point in resolved.parents) and len(mount_point) > best:
            best, best_type = len(mount_point), fstype
    return best_type


def check_sqlite_location(path: Path, *, mounts_text: str | None = None) -> None:
    """Raise ``UsageError`` when the SQLite file ``path`` would be on a network file system."""
    fstype = filesystem_type(path.parent, mounts_text=mounts_text)
    if fstype is None:
        return
    if fstype in NETWORK_FILESYSTEMS or fstype.split(".")[-1] in NETWORK_FILESYSTEMS:
        raise UsageError(
            f"The SQLite results database {path} is on a network file system ({fstype}), where "
            "SQLite's locking is unreliable and concurrent runs can corrupt it. Use PostgreSQL "
            "(--storage postgresql+psycopg://user@host/db, see docker/README.md), or put the "
            "file on a local disk (e.g. --storage sqlite:////tmp/ablate.sqlite)."
        )
