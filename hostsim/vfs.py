"""The device's filesystem as code typed at the REPL sees it: ``/`` is the board's flash folder.

Code run at the simulated REPL (mpremote's ``fs`` commands, a technician's
``exec``) gets this ``os`` and ``open`` instead of the host's, so ``/main.py``
means the flash folder's ``main.py`` and nothing outside the flash is reachable.
The firmware itself uses relative paths from ``/``, which the board process
makes its working directory.
"""

from __future__ import annotations

import builtins
import os
import posixpath
from collections import namedtuple
from pathlib import Path
from typing import IO, Any

_S_IFDIR = 0x4000
_S_IFREG = 0x8000

uname_result = namedtuple("uname_result", ["sysname", "nodename", "release", "version", "machine"])
UNAME = uname_result("esp32", "esp32", "1.27.0", "v1.27.0 on hostsim", "hostsim ESP32 module with ESP32")


class DeviceOS:
    """The subset of MicroPython's ``os`` that works on files, rooted at the flash folder."""

    sep = "/"

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._cwd = "/"

    def _host(self, path: str) -> Path:
        device_path = posixpath.normpath(posixpath.join(self._cwd, path or "."))
        host = (self._root / device_path.lstrip("/")).resolve()
        if host != self._root and self._root not in host.parents:
            raise OSError(2, "ENOENT")  # nothing outside the flash exists on the device
        return host

    def getcwd(self) -> str:
        return self._cwd

    def chdir(self, path: str) -> None:
        if not self._host(path).is_dir():
            raise OSError(2, "ENOENT")
        self._cwd = posixpath.normpath(posixpath.join(self._cwd, path))

    def listdir(self, path: str = "") -> list[str]:
        return sorted(os.listdir(self._host(path)))

    def ilistdir(self, path: str = "") -> Any:
        for name in self.listdir(path):
            st = (self._host(path) / name).stat()
            kind = _S_IFDIR if (self._host(path) / name).is_dir() else _S_IFREG
            yield (name, kind, 0, st.st_size)

    def stat(self, path: str) -> tuple[int, ...]:
        st = self._host(path).stat()
        mode = _S_IFDIR if self._host(path).is_dir() else _S_IFREG
        return (mode, 0, 0, 0, 0, 0, st.st_size, int(st.st_atime), int(st.st_mtime), int(st.st_ctime))

    def statvfs(self, path: str = "/") -> tuple[int, ...]:
        # A 2 MiB littlefs partition of 4 KiB blocks, the ESP32 default layout.
        used = sum(p.stat().st_size for p in self._root.rglob("*") if p.is_file())
        blocks, bsize = 512, 4096
        free = max(0, blocks - used // bsize - 1)
        return (bsize, bsize, blocks, free, free, 0, 0, 0, 0, 255)

    def mkdir(self, path: str) -> None:
        self._host(path).mkdir()

    def rmdir(self, path: str) -> None:
        self._host(path).rmdir()

    def remove(self, path: str) -> None:
        self._host(path).unlink()

    unlink = remove

    def rename(self, old: str, new: str) -> None:
        os.replace(self._host(old), self._host(new))

    def uname(self) -> uname_result:
        return UNAME

    def urandom(self, n: int) -> bytes:
        return os.urandom(n)

    def sync(self) -> None:
        os.sync()

    def open(self, path: str, mode: str = "r", *args: Any, **kwargs: Any) -> IO[Any]:
        return builtins.open(self._host(path), mode, *args, **kwargs)


def repl_builtins(device_os: DeviceOS) -> dict[str, Any]:
    """Builtins for REPL code: ``open`` and ``import os`` go through the device's filesystem."""
    real_import = builtins.__import__

    def device_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if name in ("os", "uos") and level == 0:
            return device_os
        return real_import(name, globals, locals, fromlist, level)

    table = dict(vars(builtins))
    table["__import__"] = device_import
    table["open"] = device_os.open
    return table
