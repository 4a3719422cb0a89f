# firmware/journal.py inside MicroPython, on the port's filesystem (cwd is the device's /).
import json
import os

import journal
from mptest import reset as setup_function  # noqa: F401

Journal = journal.Journal


def press(j, n):
    j.record("press", {"no": 1, "n": n, "total": j.presses + 1})


def read(name):
    with open(name) as f:
        return f.read()


def write(name, text):
    with open(name, "w") as f:
        f.write(text)


def ids(j):
    return [eid for eid, _ in j.pending]


def test_first_boot_is_empty():
    j = Journal()
    assert (j.presses, j.attempts, j.grant, j.open_grant, j.boots, j.next_id, j.pending) == (0, 0, 0, 0, 0, 1, [])


def test_record_returns_the_line_written():
    j = Journal()
    line = j.record("boot", {"boots": 1, "cause": "power"})
    assert json.loads(line) == {"boots": 1, "cause": "power", "id": 1, "k": "boot"}
    assert read("events.log") == line + "\n"
    assert j.pending == [(1, line)] and j.writes == 1
    for n in range(9):
        press(j, n)
    assert j.writes == 10  # one flash write per event


def test_counters_survive_a_reboot():
    j = Journal()
    j.record("boot", {"boots": 1})
    j.record("grant_ok", {"no": 4, "req": "R", "presses": 2, "valid_s": 9})
    press(j, 1)
    press(j, 2)
    j.record("locked_press", {"attempts": 1})
    j.record("relocked", {"no": 4})
    again = Journal()
    got = (again.presses, again.attempts, again.grant, again.boots, again.open_grant, again.next_id)
    assert got == (2, 1, 4, 1, 0, 7), got
    assert ids(again) == [1, 2, 3, 4, 5, 6]
    assert again.pending == j.pending  # the same lines, byte for byte


def test_ack_then_compact_then_reload():
    j = Journal()
    for n in range(70):
        press(j, n)
    assert j.ack(65)
    assert not j.ack(999)  # never sent: ignored
    assert ids(j) == [66, 67, 68, 69, 70]
    before = j.writes
    j.maybe_compact()
    assert j.writes == before + 2
    lines = read("events.log").split("\n")
    assert lines[-1] == ""
    assert [json.loads(line)["id"] for line in lines[:-1]] == [66, 67, 68, 69, 70]
    state = json.loads(read("state.json"))
    assert state["presses"] == 70 and state["acked"] == 65 and state["next_id"] == 71, state
    assert "state.json.tmp" not in os.listdir() and "events.log.tmp" not in os.listdir()
    again = Journal()
    assert again.presses == 70 and ids(again) == [66, 67, 68, 69, 70]
    press(again, 71)
    assert ids(Journal()) == [66, 67, 68, 69, 70, 71]


def test_maybe_compact_waits_for_enough_acked_lines():
    j = Journal()
    for n in range(10):
        press(j, n)
    j.ack(10)
    writes = j.writes
    j.maybe_compact()
    assert j.writes == writes  # 10 acked lines are tolerated
    assert "state.json" not in os.listdir()


def test_a_grant_open_at_power_loss_is_remembered():
    j = Journal()
    j.record("grant_ok", {"no": 9, "req": "R", "presses": 3, "valid_s": 9})
    press(j, 1)
    again = Journal()
    assert again.open_grant == 9 and again.grant == 9


def test_overflow_drops_the_oldest_and_says_so():
    j = Journal(capacity=5)
    for n in range(8):
        press(j, n)
    assert ids(j) == [4, 5, 6, 7, 8]
    assert j.dropped == 3 and j.room() == 0
    assert j.presses == 8


def test_torn_last_line_is_ignored_and_not_glued_onto():
    j = Journal()
    for n in range(5):
        press(j, n)
    data = read("events.log")
    write("events.log", data + '{"no": 1, "n": 6, "tot')  # power cut mid-append
    again = Journal()
    assert again.presses == 5 and ids(again) == [1, 2, 3, 4, 5] and again.next_id == 6
    press(again, 6)
    third = Journal()
    assert third.presses == 6 and ids(third) == [1, 2, 3, 4, 5, 6], ids(third)


def test_power_cut_at_every_byte():
    """Cut the log at any byte: boot never fails and replays exactly the whole lines."""
    j = Journal()
    for n in range(6):
        press(j, n)
    data = read("events.log")
    for cut in range(len(data) + 1):
        write("events.log", data[:cut])
        if "state.json" in os.listdir():
            os.remove("state.json")
        whole = len([line for line in data[:cut].split("\n") if line.endswith("}")])
        again = Journal()
        assert again.presses == whole and len(again.pending) == whole and again.next_id == whole + 1, cut
        press(again, 99)
        assert Journal().presses == whole + 1, cut


def test_snapshot_cut_before_rename_is_ignored():
    j = Journal()
    for n in range(3):
        press(j, n)
    write("state.json.tmp", '{"presses": 99')  # the cut left only a partial temp file
    write("state.json", "{not json")
    assert Journal().presses == 3


def test_maintenance_window_state_and_shared_grant_numbers():
    j = Journal()
    j.record("grant_ok", {"no": 3, "req": "R", "presses": 1, "valid_s": 9})
    j.record("relocked", {"no": 3})
    j.record("maintenance_open", {"no": 5, "secs": 60})
    again = Journal()
    assert again.open_maintenance == 5 and again.grant == 5  # one number sequence for both kinds
    again.record("maintenance_closed", {"no": 5})
    again.ack(again.next_id - 1)
    again.compact()
    assert json.loads(read("state.json"))["open_maintenance"] == 0
    third = Journal()
    assert third.open_maintenance == 0 and third.grant == 5 and third.pending == []
