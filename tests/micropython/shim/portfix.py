# Fills the gaps between the WebAssembly MicroPython port and the ESP32 port,
# imported by run.mjs before any firmware module. Only what the port lacks:
#
# - os.urandom: the ESP32 port's `os` has it (hardware RNG); the webassembly
#   port's `os` does not (AttributeError), and link.Link.start_session needs it.
#   Here `os` is a frozen Python package, so the missing function can be added
#   to it. Tests that need a known session id replace it again (mptest).
#
# Everything else the firmware uses is present in this port and is NOT shimmed:
# micropython.const/kbd_intr, time.ticks_ms/ticks_diff/ticks_add/sleep_ms,
# select.poll, os.rename/listdir/remove, binascii, hashlib.sha256, json, and
# sys.stdin/stdout.buffer. `machine` is missing entirely: see machine.py here.
import os
import random

if not hasattr(os, "urandom"):

    def urandom(n):
        return bytes([random.getrandbits(8) for _ in range(n)])

    os.urandom = urandom
