"""Host ``esp32`` module: present so that code can tell it is on an ESP32 (``import esp32``)."""

from __future__ import annotations

HEAP_DATA = 1
HEAP_EXEC = 2


def mcu_temperature() -> int:
    return 45
