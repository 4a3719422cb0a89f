"""The simulated contact's chatter reaches the firmware as hardware delivers it: within one board millisecond.

A loaded CI host can deschedule the thread that plays the bounce for longer than
the firmware's debounce; the firmware would then see a bounce as a second press.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from hostsim import board as hostboard
from hostsim.mpy import ticks


class Recorder:
    """A pin bus that notes the board time of every edge."""

    def __init__(self) -> None:
        self.edges: list[tuple[int, int]] = []

    def drive(self, pin: int, level: int) -> None:
        self.edges.append((level, ticks.ticks_ms()))


def test_still_holds_the_ticks_then_catches_up_with_real_time() -> None:
    with ticks.still():
        held = ticks.ticks_ms()
        time.sleep(0.03)
        assert ticks.ticks_ms() == held
    assert ticks.ticks_diff(ticks.ticks_ms(), held) >= 30


def test_a_descheduled_chatter_still_carries_one_board_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each half-millisecond step of the bounce stretched past the 20 ms debounce, as a busy host does.
    monkeypatch.setattr(hostboard, "BOUNCE_STEP_S", 0.025)
    bus = Recorder()
    hostboard.Board._chatter(SimpleNamespace(bus=bus), 4, 0)  # type: ignore[arg-type]
    assert [level for level, _ in bus.edges] == [0, 1, 0, 1, 0]  # it still bounces, ending pressed
    assert len({at for _, at in bus.edges}) == 1
