"""The embedded server's root password: where it lives and how every process finds the same one.

The password is kept in a file readable only by its owner (``root.password``, 0600) inside the
data directory (0700), and handed to the server as the *path* of that file
(``arcadedb.server.rootPasswordPath``), so it never appears in a process's command line, in the
environment of the server or in a log. A new data directory gets a random password; an explicitly
configured one (``NEO4J_PASSWORD`` / ``RCA_GRAPH__PASSWORD``) always wins. Data directories created
before the file existed were initialised with the old built-in default, which is kept (and
recorded in the file) with a warning to rotate it (``rca graph rotate-password``).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from graph_schema.errors import EmbeddedServerError
from settings.graph import GraphSettings

log = logging.getLogger(__name__)

PASSWORD_FILE = "root.password"
USERS_FILE = Path("config") / "server-users.jsonl"  # where ArcadeDB keeps root's hash once initialised
LEGACY_DEFAULT_PASSWORD = "rca-embedded"  # the built-in default before passwords were generated
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def password_path(data_dir: Path) -> Path:
    """The file holding the root password of the embedded server on ``data_dir``."""
    return Path(data_dir) / PASSWORD_FILE


def initialised(data_dir: Path) -> bool:
    """True once an ArcadeDB server has created its users (and so fixed root's password) in ``data_dir``."""
    return (Path(data_dir) / USERS_FILE).exists()


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it 0700 whatever the umask."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def write_private(path: Path, text: str, *, exclusive: bool = False) -> bool:
    """Write ``text`` to ``path`` atomically, 0600 from its creation whatever the umask.

    With ``exclusive`` an existing file is kept (another process got there first) and False returned.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    if not exclusive:
        os.replace(tmp, path)
        return True
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def _read(path: Path) -> str | None:
    try:
        return path.read_text().rstrip("\n") or None
    except FileNotFoundError:
        return None


def stored_password(data_dir: Path) -> str | None:
    """The password recorded for ``data_dir``, or the legacy default for a directory initialised before
    passwords were recorded; None for a fresh directory."""
    recorded = _read(password_path(data_dir))
    if recorded:
        return recorded
    return LEGACY_DEFAULT_PASSWORD if initialised(data_dir) else None


def client_password(data_dir: Path, explicit: str | None) -> str:
    """The password a client of the embedded server on ``data_dir`` logs in with."""
    if explicit:
        return explicit
    stored = stored_password(data_dir)
    if stored is None:
        raise EmbeddedServerError(
            f"no password for the embedded graph in {data_dir}: start it first (it creates "
            f"{PASSWORD_FILE}) or set NEO4J_PASSWORD"
        )
    return stored


def server_password(data_dir: Path, explicit: str | None) -> str:
    """The password to start the embedded server on ``data_dir`` with; records it in the password file.

    A fresh directory records the explicit password, or a new random one; an initialised directory
    without a record was initialised with the legacy default, which is recorded with a warning.
    """
    data_dir = private_dir(data_dir)
    path = password_path(data_dir)
    if explicit:
        if not initialised(data_dir) and _read(path) != explicit:
            write_private(path, explicit)
        return explicit
    recorded = _read(path)
    if recorded:
        return recorded
    if initialised(data_dir):
        log.warning(
            "the embedded graph in %s was created with the old built-in default password, which any local "
            "user can guess; it is kept (recorded in %s) so the graph still opens: rotate it with "
            "`rca graph rotate-password` while no server runs on it",
            data_dir,
            path,
        )
        write_private(path, LEGACY_DEFAULT_PASSWORD)
        return LEGACY_DEFAULT_PASSWORD
    write_private(path, secrets.token_urlsafe(24), exclusive=True)  # a concurrent start may have won
    return _read(path) or ""


def graph_password(settings: GraphSettings) -> str:
    """The password to log in with: the configured one, else (embedded) the one kept in the data directory."""
    explicit = settings.password.get_secret_value() if settings.password else None
    if not settings.embedded:
        return explicit or ""
    return client_password(settings.data_dir, explicit)
