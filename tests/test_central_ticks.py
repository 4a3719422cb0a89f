"""The central's timer (central/ticks.py): each part's tick at start and then on every pass, a failing tick logged
without stopping the others or the timer, and no timer where the central keeps no decision log."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

import central.ticks as ticks
from central.contract import CentralPart


def _shell(decisions: object | None) -> Any:
    return SimpleNamespace(state=SimpleNamespace(decisions=decisions))


async def test_a_failing_tick_is_logged_and_the_timer_goes_on(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(ticks, "PASS_SECONDS", 0.01)
    calls: list[str] = []

    async def broken(shell: Any) -> None:
        calls.append("broken")
        raise RuntimeError("database hiccup")

    async def fine(shell: Any) -> None:
        calls.append("fine")

    parts = (CentralPart(name="aa", title="甲", tick=broken), CentralPart(name="bb", title="乙", tick=fine))
    with caplog.at_level(logging.ERROR, logger="central.ticks"):
        async with ticks.ticking(_shell(decisions=object()), parts):
            assert calls == ["broken", "fine"]  # the pass at start, before the app serves
            while calls.count("fine") < 3:  # and the passes after it, each past the broken tick
                await asyncio.sleep(0.01)
    assert "the timer of aa failed" in caplog.text
    settled = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == settled  # stopped with the app


async def test_no_decision_log_no_timer() -> None:
    calls: list[str] = []

    async def tick(shell: Any) -> None:
        calls.append("tick")

    async with ticks.ticking(_shell(decisions=None), (CentralPart(name="aa", title="甲", tick=tick),)):
        await asyncio.sleep(0.01)
    assert calls == []
