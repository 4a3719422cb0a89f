"""Host ``machine`` module: Pin with IRQs on the board's PinBus, WDT, reset and unique_id."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from hostsim.mpy.ticks import ticks_add, ticks_diff, ticks_ms
from hostsim.pins import IRQ_FALLING, IRQ_RISING, PULL_DOWN, PULL_UP, PinBus

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

# Exit codes by which the board process tells its supervisor why it stopped.
EXIT_WDT = 75
EXIT_RESET = 76

_TIMER_POLL_MS = 20

_bus: PinBus | None = None
_reset_cause = PWRON_RESET
_unique_id = b"\x00" * 6


def attach(bus: PinBus, reset_cause: int, unique_id: bytes) -> None:
    global _bus, _reset_cause, _unique_id
    _bus = bus
    _reset_cause = reset_cause
    _unique_id = unique_id


def _pins() -> PinBus:
    if _bus is None:
        raise RuntimeError("hostsim: machine used before the board was attached")
    return _bus


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = PULL_UP
    PULL_DOWN = PULL_DOWN
    IRQ_FALLING = IRQ_FALLING
    IRQ_RISING = IRQ_RISING

    def __init__(self, pin: int, mode: int = IN, pull: int | None = None, *, value: int | None = None) -> None:
        self._id = pin
        self._mode = mode
        if mode == Pin.OUT:
            _pins().configure_output(pin, value or 0)
        else:
            _pins().configure_input(pin, pull)

    def value(self, level: int | None = None) -> int | None:
        if level is None:
            return _pins().read(self._id)
        if self._mode == Pin.OUT:
            _pins().write(self._id, 1 if level else 0)
        return None

    def on(self) -> None:
        self.value(1)

    def off(self) -> None:
        self.value(0)

    def irq(self, handler: Callable[[Pin], None] | None = None, trigger: int = IRQ_FALLING | IRQ_RISING) -> None:
        _pins().set_irq(self._id, handler, trigger, self)


class WDT:
    """The one hardware watchdog: kills the board process when not fed in time.

    As on the ESP32, there is a single watchdog: constructing WDT again
    returns a handle on the same one (with the new timeout), and it cannot be
    stopped. The supervisor restarts the board with WDT_RESET.
    """

    _timeout_ns = 0
    _fed = 0
    _started = False
    _lock = threading.Lock()

    def __init__(self, id: int = 0, timeout: int = 5000) -> None:
        with WDT._lock:
            WDT._timeout_ns = timeout * 1_000_000
            WDT._fed = time.monotonic_ns()
            if not WDT._started:
                WDT._started = True
                threading.Thread(target=WDT._watch, name="wdt", daemon=True).start()

    def feed(self) -> None:
        WDT._fed = time.monotonic_ns()

    @staticmethod
    def _watch() -> None:
        while True:
            time.sleep(0.02)
            if time.monotonic_ns() - WDT._fed > WDT._timeout_ns:
                os._exit(EXIT_WDT)


class Timer:
    """ESP32 hardware timers; callbacks run in a thread, as soft (scheduled) callbacks would.

    A timer keeps the board's ticks, not the host's clock: when the control port
    moves the ticks on (``ticks.advance``), a periodic timer fires once for every
    period that went by, as it would have in that time.
    """

    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id: int) -> None:
        self._stop = threading.Event()

    def init(self, *, mode: int = PERIODIC, period: int = 1000, callback: Callable[[Timer], None] | None = None) -> None:
        self.deinit()
        self._stop = threading.Event()
        stop = self._stop

        def fire() -> None:
            due = ticks_add(ticks_ms(), period)
            while True:
                wait_ms = ticks_diff(due, ticks_ms())
                if wait_ms > 0:
                    # in short steps: a jump of the ticks must not wait out the rest of a long period
                    if stop.wait(min(wait_ms, _TIMER_POLL_MS) / 1000):
                        return
                    continue
                if stop.is_set():
                    return
                if callback is not None:
                    callback(self)
                if mode == Timer.ONE_SHOT:
                    return
                due = ticks_add(due, period)

        threading.Thread(target=fire, name="timer", daemon=True).start()

    def deinit(self) -> None:
        self._stop.set()


def reset() -> None:
    os._exit(EXIT_RESET)


def soft_reset() -> None:
    os._exit(EXIT_RESET)


def reset_cause() -> int:
    return _reset_cause


def unique_id() -> bytes:
    return _unique_id


def freq() -> int:
    return 240_000_000
