"""The device journal keeps counters and unacknowledged events through power cuts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture
def journal_cls(firmware: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import journal

    monkeypatch.chdir(tmp_path)  # the device's flash root
    return journal.Journal


def press(j: Any, n: int) -> None:
    j.record("press", {"no": 1, "n": n, "total": j.presses + 1})


def test_counters_survive_a_reboot(journal_cls: Any) -> None:
    j = journal_cls()
    j.record("boot", {"boots": 1})
    j.record("grant_ok", {"no": 4, "req": "R", "presses": 2, "valid_s": 9})
    press(j, 1)
    press(j, 2)
    j.record("relocked", {"no": 4})
    again = journal_cls()
    assert (again.presses, again.grant, again.boots, again.open_grant, again.next_id) == (2, 4, 1, 0, 6)
    assert [eid for eid, _ in again.pending] == [1, 2, 3, 4, 5]


def test_one_flash_write_per_event(journal_cls: Any) -> None:
    j = journal_cls()
    for n in range(10):
        press(j, n)
    assert j.writes == 10


def test_acks_are_forgotten_after_compaction(journal_cls: Any) -> None:
    j = journal_cls()
    for n in range(70):
        press(j, n)
    assert j.ack(65)
    assert not j.ack(999)  # never sent: ignored
    j.maybe_compact()
    lines = Path("events.log").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [66, 67, 68, 69, 70]
    again = journal_cls()
    assert again.presses == 70 and [eid for eid, _ in again.pending] == [66, 67, 68, 69, 70]


def test_a_grant_open_at_power_loss_is_remembered(journal_cls: Any) -> None:
    j = journal_cls()
    j.record("grant_ok", {"no": 9, "req": "R", "presses": 3, "valid_s": 9})
    press(j, 1)
    assert journal_cls().open_grant == 9


def test_overflow_drops_the_oldest_and_says_so(journal_cls: Any) -> None:
    j = journal_cls(capacity=5)
    for n in range(8):
        press(j, n)
    assert [eid for eid, _ in j.pending] == [4, 5, 6, 7, 8]
    assert j.dropped == 3 and j.room() == 0
    assert j.presses == 8  # the counter never loses a press, whatever the queue dropped


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=2000))
def test_power_cut_mid_append_loses_nothing_acknowledged(journal_cls: Any, cut: int) -> None:
    """Cut the log at any byte: boot never fails and replays exactly the whole lines."""
    for name in ("events.log", "state.json"):
        Path(name).unlink(missing_ok=True)
    j = journal_cls()
    for n in range(20):
        press(j, n)
    data = Path("events.log").read_bytes()
    cut = min(cut, len(data))
    Path("events.log").write_bytes(data[:cut])
    whole = len([line for line in data[:cut].split(b"\n") if line.endswith(b"}")])
    again = journal_cls()
    assert again.presses == whole
    assert len(again.pending) == whole
    assert again.next_id == whole + 1
    press(again, 99)  # and it keeps going
    assert journal_cls().presses == whole + 1
