# firmware/fwhash.py, identity.py, boot.py/startup.py and link.StdioPort inside MicroPython.
import binascii
import json
import os
import sys

import board
import fwhash
import host_vectors as hv
import hostuart
import identity
import link
import machine
import micropython
from hmac256 import Hmac, subkey
from mptest import BytePort, UartPort, decode_frame, fake_clock, fixed_urandom
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


def loops(n):
    for _ in range(n):
        yield


def boot_provisioned(port, script):
    """Reset a provisioned board: run /boot.py as MicroPython does, the seal on `port`,
    `script` stepped once per loop. Returns when the seal resets the board (machine.Reset)."""
    write_identity({"device_id": hv.E2E_DEV, "key": binascii.hexlify(hv.KEY).decode()})
    fixed_urandom(hv.E2E_URANDOM)
    use_port(port)
    machine.sim_drive(board.TAMPER_PIN, 0)  # the case is shut
    fake_clock(hv.E2E_START)._script = script  # when it ends, StopLoop: startup resets
    with open("/boot.py") as f:
        code = f.read()
    micropython.kbd_intr(3)  # as pyexec runs boot.py: Ctrl-C interrupts it unless the code turns that off
    try:
        exec(code, {"__name__": "__main__"})
    except machine.Reset:
        return
    finally:
        micropython.kbd_intr(-1)  # as the REPL has it while it reads a line
    raise AssertionError("boot.py returned: the REPL would have the UART")


def test_boot_py_starts_the_seal_on_the_code_in_flash():
    port = UartPort(hv.E2E_FRAMES["hello"])
    boot_provisioned(port, loops(3))
    (hello,) = [f for f in (decode_frame(LINK_MAC, line) for line in port.take_lines()) if f["t"] == "hello"]
    # The hash of the files it runs (source, or a compiled release with --firmware), as the host computes it.
    assert (hello["dev"], hello["fw"], hello["boots"]) == (hv.E2E_DEV, expected_fwhash(), 1), hello


def test_a_provisioned_seal_ignores_ctrl_c_and_the_repl_never_answers():
    port = UartPort(hv.E2E_FRAMES["hello"])
    finished = []

    def script():
        yield
        port.feed(b"\r\x03\x03\x01\x04\n")  # what mpremote sends: Ctrl-C twice, raw REPL, soft reset
        yield
        port.feed(hv.E2E_FRAMES["status"])  # answered only once the bytes before it were read
        machine.sim_drive(board.PRESS_PIN, 0)  # and the loop still counts a press
        yield from loops(board.DEBOUNCE_MS // board.LOOP_MS + 2)
        finished.append(True)

    boot_provisioned(port, script())
    assert finished, "the seal stopped before the script ended"
    frames = [decode_frame(LINK_MAC, line) for line in port.take_lines()]  # every line a frame: no prompt, no banner
    assert port.sent == b"", port.sent
    (status,) = [f for f in frames if f["t"] == "status"]
    assert (status["boots"], status["bad"], status["lock"]) == (1, 1, "locked"), status
    events = [f["e"] for f in frames if f["t"] == "ev"]
    assert [e["k"] for e in events] == ["boot", "locked_press"], events


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


def test_stdio_port_reads_and_writes_the_uart_on_this_port():
    port = _real_stdio_port()  # sys.stdin.buffer, sys.stdout.buffer, select.poll
    assert port.read_byte() == -1  # nothing waiting: -1 at once, neither a block nor an error
    port.write(b"#stdio-port-check*\n")
    assert "#stdio-port-check*" in hostuart.tx()
