# firmware/fwhash.py, identity.py, boot.py/startup.py and link.StdioPort inside MicroPython.
import binascii
import json
import os
import sys

import fwhash
import host_vectors as hv
import identity
import link
import machine
from hmac256 import Hmac, subkey
from mptest import BytePort, decode_frame, fake_clock, fixed_urandom
from mptest import reset as _reset

_real_stdio_port = link.StdioPort
LINK_MAC = Hmac(subkey(hv.KEY, b"qinglian/link/v1"))


def setup_function():
    _reset()
    sys.modules.pop("startup", None)


def teardown_function():
    link.StdioPort = _real_stdio_port
    sys.modules.pop("startup", None)
    for name in ("extra.mpy", "notes.txt"):
        if name in os.listdir("/"):
            os.remove("/" + name)


def expected_fwhash():
    with open("/tests/runner.json") as f:
        return json.loads(f.read())["fwhash"]


def hexhash():
    return binascii.hexlify(fwhash.firmware_hash()).decode()


def test_firmware_hash_matches_the_host_rule():
    digest = fwhash.firmware_hash()
    assert len(digest) == 32
    assert hexhash() == expected_fwhash(), (hexhash(), expected_fwhash())


def test_firmware_hash_covers_mpy_files_only_among_the_rest():
    before = hexhash()
    with open("notes.txt", "w") as f:
        f.write("not code")
    assert hexhash() == before
    with open("extra.mpy", "wb") as f:
        f.write(b"M\x06" + bytes(700))  # larger than the 512-byte read buffer
    assert hexhash() != before


def test_identity_missing_is_factory_fresh():
    assert identity.load() is None


def write_identity(data):
    with open(identity.IDENTITY_FILE, "w") as f:
        f.write(data if type(data) is str else json.dumps(data))


def test_identity_loads():
    write_identity({"device_id": "QL-0A0B", "key": binascii.hexlify(hv.KEY).decode()})
    assert identity.load() == ("QL-0A0B", hv.KEY)


def test_identity_rejects_damage():
    key = binascii.hexlify(hv.KEY).decode()
    for data in [
        {"device_id": "QL-1", "key": key[:-2]},
        {"device_id": "", "key": key},
        {"device_id": "QL-1"},
        {"key": key},
        {"device_id": "QL-1", "key": "zz" * 32},
        "{not json",
        "",
    ]:
        write_identity(data)
        assert identity.load() is None, data


def use_port(port):
    link.StdioPort = lambda: port  # startup imports it from link when it starts the seal


def test_boot_py_only_starts_startup():
    with open("/boot.py") as f:
        code = f.read()
    assert "import startup" in code and "startup.run()" in code


def test_startup_without_identity_returns_to_the_repl():
    import startup

    assert startup.run() is None
    assert startup.seal is None and machine.sim_wdts == []


def test_startup_resets_when_the_seal_stops():
    import startup

    write_identity({"device_id": hv.E2E_DEV, "key": binascii.hexlify(hv.KEY).decode()})
    port = BytePort()
    use_port(port)
    clock = fake_clock(hv.E2E_START)

    def three_loops():
        for _ in range(3):
            yield

    clock._script = three_loops()  # then StopLoop, which startup must treat like any error
    try:
        startup.run()
    except machine.Reset:
        pass
    else:
        raise AssertionError("startup.run() returned without machine.reset()")
    frames = [decode_frame(LINK_MAC, line) for line in port.take_lines()]
    assert frames and frames[0]["t"] == "announce" and frames[0]["dev"] == hv.E2E_DEV, frames
    assert [w.feeds for w in machine.sim_wdts] == [4]


def test_startup_maintenance_window_ends_in_a_reset():
    import startup

    write_identity({"device_id": hv.E2E_DEV, "key": binascii.hexlify(hv.KEY).decode()})
    fixed_urandom(hv.E2E_URANDOM)
    port = BytePort(hv.E2E_FRAMES["hello"] + hv.E2E_FRAMES["maint_1"])
    use_port(port)
    fake_clock(hv.E2E_START)
    assert startup.run() is None  # the seal handed over: back to the REPL
    assert startup.seal is not None and startup.seal._maintenance == 3
    events = [f["e"] for f in (decode_frame(LINK_MAC, line) for line in port.take_lines()) if f["t"] == "ev"]
    assert [e["k"] for e in events] == ["boot", "maintenance_open"], events
    assert events[1]["no"] == 1 and events[1]["secs"] == 3
    (timer,) = machine.sim_timers
    assert timer.mode == machine.Timer.PERIODIC and timer.period == 1000
    wdt = machine.sim_wdts[-1]
    feeds = wdt.feeds
    timer.sim_fire()
    timer.sim_fire()
    assert wdt.feeds == feeds + 2  # the window keeps the watchdog fed
    try:
        timer.sim_fire()  # the third second: the window is over
    except machine.Reset:
        pass
    else:
        raise AssertionError("the maintenance window did not end in a reset")


def test_stdio_port_is_constructible_on_this_port():
    port = _real_stdio_port()  # sys.stdin.buffer, sys.stdout.buffer, select.poll
    port.write(b"")
