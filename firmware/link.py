# The framed, authenticated serial protocol on the USB UART.
#
# One frame per line:  '#' BODY '*' MAC '\n'
#   BODY  a JSON object: "t" type, "s" sequence number, "sid" session id
#   MAC   the first 16 bytes, in hex, of HMAC-SHA256 under the link subkey of
#         the device key over a direction byte (b"E" edge->device, b"D"
#         device->edge) followed by BODY exactly as sent.
# A session starts when the edge says hello (with a nonce the reply echoes);
# the device then picks a fresh random sid. Every later frame from the edge
# must carry that sid and a sequence number above the last one accepted, so a
# frame recorded earlier cannot be played back. Anything else - noise, a
# truncated or overlong line, a bad MAC, a stale sid or sequence - is counted
# in `bad` and dropped without being acted on.
import binascii
import json
import os
import select
import sys

from board import MAX_LINE
from hmac256 import Hmac, equal, subkey

_MAC_BYTES = 16
_MAC_HEX = 2 * _MAC_BYTES
_HASH = 35  # '#'
_STAR = 42  # '*'
_NL = 10
_CR = 13


class StdioPort:
    """The REPL UART as MicroPython exposes it: sys.stdin / sys.stdout."""

    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def read_byte(self):
        """Return the next byte as an int, or -1 if none is waiting."""
        if not self._poll.poll(0):
            return -1
        b = self._in.read(1)
        return b[0] if b else -1

    def write(self, data):
        self._out.write(data)


class Link:
    def __init__(self, port, device_key):
        self._port = port
        self._mac = Hmac(subkey(device_key, b"qinglian/link/v1"))
        self._buf = bytearray(MAX_LINE)
        self._len = 0
        self._overlong = False
        self.sid = None
        self._rx_seq = 0
        self._tx_seq = 0
        self.bad = 0

    # -- receiving --------------------------------------------------------

    def receive(self, budget=2048):
        """Read waiting bytes; return the next valid frame (a dict) or None."""
        buf = self._buf
        while budget > 0:
            budget -= 1
            b = self._port.read_byte()
            if b < 0:
                return None
            if b == _NL:
                frame = self._accept()
                self._len = 0
                self._overlong = False
                if frame is not None:
                    return frame
            elif self._len < MAX_LINE:
                buf[self._len] = b
                self._len += 1
            else:
                self._overlong = True
        return None

    def _accept(self):
        n = self._len
        if n and self._buf[n - 1] == _CR:
            n -= 1
        if n == 0 and not self._overlong:
            return None  # a blank line is not worth counting
        frame = None if self._overlong else self._decode(bytes(self._buf[:n]))
        if frame is None:
            self.bad += 1
        return frame

    def _decode(self, line):
        n = len(line)
        if n < 3 + _MAC_HEX or line[0] != _HASH or line[n - _MAC_HEX - 1] != _STAR:
            return None
        body = line[1 : n - _MAC_HEX - 1]
        # Compare the hex text itself: one spelling per MAC, no case games.
        if not equal(line[n - _MAC_HEX :], binascii.hexlify(self._mac.digest(b"E", body)[:_MAC_BYTES])):
            return None
        try:
            frame = json.loads(body)
        except ValueError:
            return None
        if type(frame) is not dict:
            return None
        if frame.get("t") == "hello":
            return frame if type(frame.get("n")) is str and len(frame["n"]) <= 64 else None
        seq = frame.get("s")
        if self.sid is None or frame.get("sid") != self.sid or type(seq) is not int or seq <= self._rx_seq:
            return None
        self._rx_seq = seq
        return frame

    # -- sessions and sending ---------------------------------------------

    def start_session(self):
        self.sid = binascii.hexlify(os.urandom(8)).decode()
        self._rx_seq = 0
        self._tx_seq = 0

    def _write(self, body):
        mac = self._mac.digest(b"D", body)[:_MAC_BYTES]
        self._port.write(b"#" + body + b"*" + binascii.hexlify(mac) + b"\n")

    def send(self, frame):
        """Send a dict; inside a session it gets the sid and the next sequence number."""
        if self.sid is not None:
            self._tx_seq += 1
            frame["s"] = self._tx_seq
            frame["sid"] = self.sid
        self._write(json.dumps(frame).encode())

    def send_event(self, line, first):
        """Send a journal line as is (no re-encoding) in an event frame.

        `first` is the oldest event still kept: an edge waiting for an older id
        learns from it that the ones in between were lost to overflow.
        """
        self._tx_seq += 1
        self._write(('{"t":"ev","s":%d,"sid":"%s","f":%d,"e":%s}' % (self._tx_seq, self.sid, first, line)).encode())
