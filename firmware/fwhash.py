# The firmware hash reported at boot: SHA-256 over every code file in flash.
#
# Each file contributes its name, a NUL and its own SHA-256, in sorted name
# order, so the edge can recompute the value from a release manifest's
# per-file hashes without the files themselves.
import hashlib
import os

CODE_SUFFIXES = (".py", ".mpy")


def _file_digest(name, buf):
    h = hashlib.sha256()
    with open(name, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf if n == len(buf) else buf[:n])
    return h.digest()


def _is_code(name):
    # MicroPython's str.endswith takes no tuple.
    for suffix in CODE_SUFFIXES:
        if name.endswith(suffix):
            return True
    return False


def firmware_hash():
    buf = bytearray(512)
    total = hashlib.sha256()
    names = [n for n in os.listdir() if _is_code(n)]
    names.sort()
    for name in names:
        total.update(name.encode())
        total.update(b"\x00")
        total.update(_file_digest(name, buf))
    return total.digest()
