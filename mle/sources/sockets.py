"""Socket plumbing shared by the listening sources: binding a unix socket path safely,
and waking a thread blocked in ``select`` so that ``close()`` takes effect at once.

Binding a unix path: a stale socket file (left by a process that died) is removed,
but a path where a live process still listens, or that is not a socket at all, is
refused with an error naming the config entry. The socket file gets the configured
permissions (and group) before anyone can connect, and is unlinked on close only
if it is still ours.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import os
import socket
import stat
from pathlib import Path

from mle.errors import ConfigError

MAX_UNIX_PATH = 107  # sun_path is 108 bytes on Linux, with the terminating NUL


class Waker:
    """A socket pair: register :meth:`fileno` in a selector, call :meth:`wake` from
    another thread to make the selector return."""

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    def fileno(self) -> int:
        return self._r.fileno()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # full (already woken) or closed
            self._w.send(b"\0")

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            while self._r.recv(4096):
                pass

    def close(self) -> None:
        self._r.close()
        self._w.close()


def parse_mode(label: str, value: int | str | None, default: int) -> int:
    """Permissions of a socket file: an int (432) or an octal string ("0660", "660")."""
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = int(value, 8)
        except ValueError:
            raise ConfigError(f'{label}: "mode" must be octal permissions like "0660", not {value!r}') from None
    if not 0 <= value <= 0o7777:
        raise ConfigError(f'{label}: "mode" {value!r} is not a permission mode')
    return value


def _check_existing(path: Path, label: str, kind: int) -> None:
    """Remove a stale socket at ``path``; refuse a live one or a non-socket."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, f"{label}: {path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, kind)
    try:
        probe.settimeout(1.0)
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # stale: nobody listens any more
        return
    except OSError:
        pass  # e.g. a protocol mismatch: someone is there
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{label}: another process is listening on {path}")


def bind_unix(path: Path, kind: int, label: str, mode: int, group: str | None = None) -> socket.socket:
    """A unix socket of ``kind`` (SOCK_STREAM or SOCK_DGRAM) bound at ``path`` with
    permissions ``mode``; parent directories are created."""
    if len(os.fsencode(path)) > MAX_UNIX_PATH:
        raise ConfigError(
            f"{label}: socket path {path} is {len(os.fsencode(path))} bytes, the limit is {MAX_UNIX_PATH}; "
            "use a shorter path (or run_dir)"
        )
    gid = -1
    if group is not None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise ConfigError(f'{label}: group "{group}" does not exist') from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(exc.errno, f"{label}: cannot create {path.parent}: {exc.strerror}") from None
    _check_existing(path, label, kind)
    sock = socket.socket(socket.AF_UNIX, kind)
    old_umask = os.umask(0o777)  # nobody can connect before the chmod below
    try:
        sock.bind(str(path))
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"{label}: cannot bind {path}: {exc.strerror}") from None
    finally:
        os.umask(old_umask)
    try:
        if gid != -1:
            os.chown(path, -1, gid)
        os.chmod(path, mode)
    except OSError as exc:
        sock.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise OSError(exc.errno, f"{label}: cannot set permissions of {path}: {exc.strerror}") from None
    return sock


def socket_identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path``, or None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def unlink_if_ours(path: Path, identity: tuple[int, int] | None) -> None:
    """Remove the socket file we created, unless someone else replaced it since."""
    if identity is not None and socket_identity(path) == identity:
        with contextlib.suppress(OSError):
            os.unlink(path)
