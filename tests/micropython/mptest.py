# Test helpers for the MicroPython-side tests (runs inside MicroPython, not CPython).
#
# - Clock: replaces time.ticks_ms and time.sleep_ms with a clock the test moves.
#   ticks_diff/ticks_add stay MicroPython's own, so the firmware's tick
#   arithmetic (wraparound included) is the real one.
# - run_loop: runs a main loop (Seal.run) with a generator "script" stepped
#   once per time.sleep_ms call; when the script ends, StopLoop ends the loop.
# - BytePort: the port object link.Link reads from and writes to; UartPort, one
#   whose incoming bytes pass the UART's receive interrupt first (Ctrl-C).
# - reset: the per-test clean slate (run.mjs calls a module's setup_function).
import binascii
import json
import os
import time

import hostuart
import machine

TICKS_PERIOD = 1 << 30
_real_ticks_ms = time.ticks_ms
_real_sleep_ms = time.sleep_ms
_real_urandom = os.urandom


class StopLoop(BaseException):
    """Raised from the fake time.sleep_ms to end a firmware main loop."""


class Clock:
    def __init__(self, start=0, limit=100000):
        self.now = start % TICKS_PERIOD
        self.sleeps = 0
        self.limit = limit  # a loop that sleeps this often without its script ending is a bug
        self._script = None

    def ticks_ms(self):
        return self.now

    def advance(self, ms):
        while ms > 0:  # ticks_add takes less than half a period at a time
            step = ms if ms < 100000 else 100000
            self.now = time.ticks_add(self.now, step)
            ms -= step

    def sleep_ms(self, ms):
        self.advance(ms)
        self.sleeps += 1
        if self.sleeps > self.limit:
            raise RuntimeError("loop still running after %d sleeps" % self.limit)
        if self._script is not None:
            try:
                next(self._script)
            except StopIteration:
                self._script = None
                raise StopLoop()


def fake_clock(start=0):
    """Install and return a Clock; reset() puts MicroPython's own functions back."""
    clock = Clock(start)
    time.ticks_ms = clock.ticks_ms
    time.sleep_ms = clock.sleep_ms
    return clock


def run_loop(clock, loop, script):
    """Call loop() stepping `script` after each sleep; StopLoop ends it when the script ends.

    Returns (True, value) if loop() returned value by itself, (False, None) if it was stopped.
    """
    clock._script = script
    try:
        return True, loop()
    except StopLoop:
        return False, None
    finally:
        clock._script = None


def fixed_urandom(data):
    """Make os.urandom return a known prefix of `data`, so the link's session id is known."""

    def urandom(n):
        return data[:n]

    os.urandom = urandom


class BytePort:
    """A serial port: bytes in from `feed`, bytes out collected in `sent`."""

    def __init__(self, data=b""):
        self.inbox = bytearray(data)
        self.pos = 0
        self.sent = bytearray()

    def feed(self, data):
        if self.pos == len(self.inbox):
            self.inbox = bytearray()
            self.pos = 0
        self.inbox += data

    def waiting(self):
        return len(self.inbox) - self.pos

    def read_byte(self):
        if self.pos >= len(self.inbox):
            return -1
        b = self.inbox[self.pos]
        self.pos += 1
        return b

    def write(self, data):
        self.sent += data

    def take_lines(self):
        """Return the complete lines written so far (without newline) and forget them."""
        data = bytes(self.sent)
        end = data.rfind(b"\n") + 1
        self.sent = bytearray(data[end:])
        return [line for line in data[:end].split(b"\n") if line]


class UartPort(BytePort):
    """A BytePort fed as the device's UART is: each byte goes through the receive
    interrupt (run.mjs's hostuart.rx), so the interrupt character, unless the
    firmware turned it off, raises KeyboardInterrupt in the running code."""

    def feed(self, data):
        for b in data:
            if hostuart.rx(b):
                BytePort.feed(self, bytes([b]))


def drain(link):
    """Every valid frame the link yields until its port is empty."""
    frames = []
    while True:
        frame = link.receive()
        if frame is not None:
            frames.append(frame)
        elif not link._port.waiting():
            return frames


def frame_mac(mac, direction, body):
    return binascii.hexlify(mac.digest(direction, body)[:16])


def make_frame(mac, body, direction=b"E"):
    """An edge->device frame built on the device side, with the firmware's own Hmac."""
    if type(body) is dict:
        body = json.dumps(body).encode()
    return b"#" + body + b"*" + frame_mac(mac, direction, body) + b"\n"


def decode_frame(mac, line, direction=b"D"):
    """Check and parse a device->edge line; raise AssertionError if it is not a frame."""
    assert line[:1] == b"#" and line[-33:-32] == b"*", line
    body = line[1:-33]
    assert line[-32:] == frame_mac(mac, direction, body), "bad MAC on %r" % line
    return json.loads(body)


def remove_data_files():
    """Delete everything in / but the firmware's code (journal, identity, temp files)."""
    for name in os.listdir("/"):
        if name.endswith(".py") or name.endswith(".mpy"):
            continue
        path = "/" + name
        if os.stat(path)[0] & 0x4000:
            continue  # a directory: /lib, /tests and the port's own
        os.remove(path)


def reset():
    time.ticks_ms = _real_ticks_ms
    time.sleep_ms = _real_sleep_ms
    os.urandom = _real_urandom
    machine.sim_reset()
    os.chdir("/")
    remove_data_files()
