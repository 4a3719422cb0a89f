# firmware/app.py end to end inside MicroPython: Seal.run() on a byte-queue port,
# frames made by the host (edge/protocol.py), the press and tamper switches driven
# on the `machine` shim's pins, time on a fake clock that crosses the tick wrap.
import binascii
import json

import app
import board
import fwhash
import host_vectors as hv
import machine
from hmac256 import Hmac, subkey
from mptest import BytePort, decode_frame, fake_clock, fixed_urandom, run_loop
from mptest import reset as setup_function  # noqa: F401

E = hv.E2E_FRAMES
LINK_MAC = Hmac(subkey(hv.KEY, b"qinglian/link/v1"))
PERIOD = 1 << 30


class Edge:
    """The edge's view of the serial line: every device frame, checked, and the events by id."""

    def __init__(self, port):
        self.port = port
        self.frames = []
        self.events = {}
        self.seq = {}  # sid -> last sequence number seen

    def read(self):
        new = []
        for line in self.port.take_lines():
            f = decode_frame(LINK_MAC, line)
            if "sid" in f:
                last = self.seq.get(f["sid"], 0)
                assert f["s"] > last, ("sequence went back", f, last)
                self.seq[f["sid"]] = f["s"]
            if f["t"] == "ev":
                e = f["e"]
                if e["id"] in self.events:
                    assert self.events[e["id"]] == e, ("resent event changed", e)
                self.events[e["id"]] = e
            new.append(f)
        self.frames += new
        return new

    def kinds(self):
        return [self.events[i]["k"] for i in sorted(self.events)]

    def last(self, kind):
        for i in sorted(self.events, reverse=True):
            if self.events[i]["k"] == kind:
                return self.events[i]
        raise AssertionError("no %s event in %r" % (kind, self.kinds()))

    def replies(self, t):
        return [f for f in self.frames if f["t"] == t]


def loops(n):
    for _ in range(n):
        yield


def press(clock, levels):
    """Bounce the press switch (to GND when pressed) through `levels`, 1 ms apart."""
    for level in levels:
        machine.sim_drive(board.PRESS_PIN, level)
        clock.advance(1)


def lock_level():
    return machine.sim_level(board.LOCK_PIN)


def new_seal(port, start=hv.E2E_START):
    clock = fake_clock(start)
    fixed_urandom(hv.E2E_URANDOM)  # so the session id is the one the host frames carry
    machine.sim_drive(board.TAMPER_PIN, 0)  # case shut: the tamper switch holds its line at GND
    seal = app.Seal(hv.E2E_DEV, hv.KEY, port)
    return clock, seal


def test_seal_end_to_end():
    port = BytePort()
    clock, seal = new_seal(port)
    edge = Edge(port)
    assert lock_level() == 0

    def script():
        # Loop 1 has run: no session yet, so the device announces itself.
        edge.read()
        assert [f["t"] for f in edge.frames] == ["announce"] and edge.frames[0]["dev"] == hv.E2E_DEV

        port.feed(E["hello"])
        yield
        edge.read()
        (hello,) = edge.replies("hello")
        assert hello["n"] == hv.E2E_NONCE and hello["sid"] == hv.E2E_SID and hello["s"] == 1, hello
        assert hello["lock"] == "locked" and hello["boots"] == 1 and hello["grant"] is None
        assert hello["fw"] == binascii.hexlify(fwhash.firmware_hash()).decode()
        assert edge.kinds() == ["boot"] and edge.events[1]["cause"] == "power"

        port.feed(E["grant_1"])  # no 1: 2 presses, valid 5 s
        yield
        edge.read()
        assert lock_level() == 1
        assert edge.kinds() == ["boot", "grant_ok", "unlocked"], edge.kinds()
        assert edge.events[2]["no"] == 1 and edge.events[2]["req"] == "REQ-E2E-1"

        for n in (1, 2):
            press(clock, [0, 1, 0, 1, 0])  # contact bounce on the way down
            yield from loops(board.DEBOUNCE_MS // board.LOOP_MS + 1)
            edge.read()
            ev = edge.last("press")
            assert ev["n"] == n and ev["total"] == n and ev["no"] == 1, ev
            if n == 1:
                assert machine.sim_level(board.CAMERA_PIN) == 1  # the photo trigger
                yield from loops(board.CAMERA_PULSE_MS // board.LOOP_MS + 1)
                assert machine.sim_level(board.CAMERA_PIN) == 0
            press(clock, [1, 0, 1])  # and on the way up: no event for a release
            yield from loops(10)
        edge.read()
        assert lock_level() == 0
        assert edge.kinds() == ["boot", "grant_ok", "unlocked", "press", "press", "relocked"], edge.kinds()
        assert edge.events[6]["reason"] == "presses_used" and edge.events[6]["left"] == 0

        port.feed(E["ack_6"])
        yield
        assert seal.journal.pending == []

        port.feed(E["grant_1_again"])  # a new frame, an old grant number
        yield
        edge.read()
        assert edge.events[7]["k"] == "grant_refused" and edge.events[7]["reason"] == "replayed", edge.events[7]
        assert lock_level() == 0

        press(clock, [0])
        yield from loops(6)
        edge.read()
        assert edge.events[8]["k"] == "locked_press" and edge.events[8]["attempts"] == 1
        press(clock, [1])
        yield from loops(6)

        port.feed(E["grant_2_expired"])  # minted 10 s before the test began, valid 5 s
        yield
        edge.read()
        assert edge.events[9]["reason"] == "expired" and edge.events[9]["no"] == 2, edge.events[9]

        port.feed(b"line noise\n")
        port.feed(E["grant_3"])  # no 3: valid 2 s from E2E_START + 1500, which ends after the wrap
        yield
        edge.read()
        assert lock_level() == 1 and edge.kinds()[-2:] == ["grant_ok", "unlocked"], edge.kinds()
        assert seal.grant["until"] == (hv.E2E_START + 3500) % PERIOD
        while lock_level() == 1:
            assert clock.sleeps < 2000
            yield
        edge.read()
        relock = edge.last("relocked")
        assert relock["no"] == 3 and relock["reason"] == "expired" and relock["used"] == 0 and relock["left"] == 5
        assert clock.now < hv.E2E_START  # the ticks wrapped on the way

        port.feed(E["status"])
        yield
        edge.read()
        status = edge.replies("status")[-1]
        got = (status["lock"], status["presses"], status["attempts"], status["grant"], status["last_grant"], status["bad"], status["boots"])
        assert got == ("locked", 2, 1, None, 3, 1, 1), status

        port.feed(E["maint_4"])  # a maintenance window ends run()
        for _ in range(5):
            yield
        raise AssertionError("run() did not return for a maintenance grant")

    returned, value = run_loop(clock, seal.run, script())
    assert returned and value == 60, (returned, value)
    edge.read()
    assert edge.kinds()[-1] == "maintenance_open" and edge.last("maintenance_open")["no"] == 4
    assert seal.journal.grant == 4
    (wdt,) = machine.sim_wdts
    assert wdt.timeout == board.WDT_MS and wdt.feeds == clock.sleeps, (wdt.feeds, clock.sleeps)  # once per loop
    # Every event reached the edge exactly as the journal holds it.
    for eid, line in seal.journal.pending:
        assert edge.events[eid] == json.loads(line)


def test_reboot_with_the_lock_open_relocks_and_remembers_the_grant():
    port = BytePort(E["hello"] + E["grant_1"])
    clock, seal = new_seal(port)
    assert run_loop(clock, seal.run, loops(3)) == (False, None)  # still serving when the power went
    assert lock_level() == 1 and seal.journal.open_grant == 1
    # Power cut with the lock open; the board comes back through the watchdog.
    machine.sim_reset()
    machine.sim_set_reset_cause(machine.WDT_RESET)
    port = BytePort(E["hello"] + E["grant_1"])  # the same frames played back in the new session
    clock, seal = new_seal(port, start=hv.E2E_START + 200)
    assert lock_level() == 0
    edge = Edge(port)
    assert run_loop(clock, seal.run, loops(3)) == (False, None)
    edge.read()
    kinds = edge.kinds()
    # The first boot's events were never acknowledged, so the new session gets them too.
    assert kinds == ["boot", "grant_ok", "unlocked", "relocked", "boot", "grant_refused"], kinds
    assert edge.last("relocked")["reason"] == "reboot" and edge.last("relocked")["no"] == 1
    boot = edge.last("boot")
    assert boot["boots"] == 2 and boot["cause"] == "watchdog", boot
    assert edge.last("grant_refused")["reason"] == "replayed"
    assert lock_level() == 0


def test_tamper_relocks_and_refuses_grants():
    port = BytePort(E["hello"] + E["grant_1"])
    clock, seal = new_seal(port)
    edge = Edge(port)

    def script():
        yield
        assert lock_level() == 1
        machine.sim_drive(board.TAMPER_PIN, 1)  # the case is opened
        yield from loops(6)
        edge.read()
        assert lock_level() == 0
        assert edge.kinds()[-2:] == ["tamper", "relocked"], edge.kinds()
        assert edge.last("tamper")["active"] is True and edge.last("relocked")["reason"] == "tamper"
        port.feed(E["grant_3"])
        yield
        edge.read()
        assert edge.last("grant_refused")["reason"] == "tamper" and lock_level() == 0
        machine.sim_drive(board.TAMPER_PIN, 0)
        yield from loops(6)
        edge.read()
        assert edge.last("tamper")["active"] is False

    # Stopped by the script's end, not returned by itself: run() served through all of it.
    assert run_loop(clock, seal.run, script()) == (False, None), "run() returned before the script ended"
