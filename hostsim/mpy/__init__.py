"""Host implementations of the MicroPython modules the firmware imports.

``install`` puts ``machine``, ``micropython`` and ``esp32`` into ``sys.modules`` and adds
MicroPython's tick functions to CPython's ``time`` module, so the firmware's
own ``import machine`` / ``time.ticks_ms()`` lines run unchanged.
"""

from __future__ import annotations

import sys

from hostsim.mpy import esp32, machine, micropython, ticks
from hostsim.pins import PinBus


def install(bus: PinBus, reset_cause: int, unique_id: bytes) -> None:
    machine.attach(bus, reset_cause, unique_id)
    sys.modules["machine"] = machine
    sys.modules["micropython"] = micropython
    sys.modules["esp32"] = esp32
    ticks.patch_time()
