"""Directories 0700 and files 0600 for the worker's state, whatever the umask.

The state holds raw log bytes (dead letters), aggregates with sample lines (spool) and template
state: other local users have no business reading them. Modes are set explicitly rather than
left to the umask; an existing directory or file that is looser is used as it is (the operator
may share it on purpose) and named in one warning.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from pathlib import Path

log = logging.getLogger(__name__)
DIR_MODE = 0o700
FILE_MODE = 0o600
_warned: set[str] = set()
_warned_lock = threading.Lock()


def private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700; warn once if an existing ``path`` is open to others."""
    path = Path(path)
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another thread or process made it meanwhile
        os.chmod(directory, DIR_MODE)  # mkdir's mode passes through the umask
    if not missing:
        warn_if_open(path)
    return path


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """An ``opener`` for ``open()`` creating files 0600 (an existing file keeps its mode, and is checked)."""
    existed = os.path.exists(path)
    fd = os.open(path, flags, FILE_MODE)
    if existed:
        warn_if_open(Path(path))
    else:
        os.fchmod(fd, FILE_MODE)  # os.open's mode passes through the umask too
    return fd


def write_private(path: Path, data: bytes | str, sync: bool = False) -> None:
    """Replace ``path`` atomically with ``data``, the new file 0600; ``sync`` makes it durable before returning."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    payload = data.encode() if isinstance(data, str) else data
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        if sync:
            os.fdatasync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)  # atomic: a crash leaves the old file or the whole new one
    if sync:  # the rename itself survives a power loss only once the directory is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def warn_if_open(path: Path) -> bool:
    """Warn (once per path) when group or others may read, write or enter ``path``; True if so."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return False
    if not mode & 0o077:
        return False
    key = str(Path(path).resolve())
    with _warned_lock:
        if key in _warned:
            return True
        _warned.add(key)
    kind = "directory" if Path(path).is_dir() else "file"
    wanted = DIR_MODE if kind == "directory" else FILE_MODE
    log.warning("%s %s is mode %04o: other local users can read it; chmod %04o %s", kind, path, mode, wanted, path)
    return True
