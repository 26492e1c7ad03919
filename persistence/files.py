"""The data folder is private to the service's user: folders 0700, files 0600, from their creation.

It holds the SQLite stores (sealed personal data and the keys that open it), the control store
and tokens. Each file is created with its final mode, never written first and narrowed after.
SQLite gives a database's ``-wal``, ``-shm`` and ``-journal`` files the mode of the database
itself, so a store's file is created here, empty and 0600, before SQLite opens it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

log = logging.getLogger(__name__)
FOLDER = 0o700
FILE = 0o600
_SHARED = 0o077  # the group's and others' bits


def private_folder(path: Path) -> Path:
    """The folder, made 0700 if it is missing (and so are its missing parents)."""
    if not path.is_dir():
        if not path.parent.is_dir():
            private_folder(path.parent)
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            os.mkdir(path, FOLDER)
    return path


def private_file(path: Path) -> Path:
    """The file, created empty and 0600 if it is missing; an existing one is left as it is."""
    private_folder(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE))
    return path


def write_private(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write the file whole, 0600 from its creation: a new file, made with O_EXCL, is written and
    then moved into place, so no reader ever finds it half-written. With ``replace=False`` a file
    already there is kept: returns whether this call wrote it."""
    private_folder(path.parent)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(draft, path)
            return True
        try:
            os.link(draft, path)  # fails if the file is there: the first writer's stays
        except FileExistsError:
            return False
        return True
    finally:
        draft.unlink(missing_ok=True)


def make_private(folder: Path) -> None:
    """Take the group's and others' bits off the folder and everything in it (a data folder an
    older version made 0755 with 0644 files). Symbolic links are left alone."""
    if not folder.is_dir():
        return
    _narrow(folder)
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            _narrow(Path(root) / name)


def _narrow(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
        if not stat.S_ISLNK(mode) and mode & _SHARED:
            os.chmod(path, stat.S_IMODE(mode) & ~_SHARED)
    except FileNotFoundError:  # removed meanwhile (a -shm file at its last connection's close)
        pass
    except OSError as error:  # another user's file: said, not fatal
        log.warning("could not make %s private: %s", path, error)
