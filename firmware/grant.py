# Checking a grant: the authenticated instruction to unlock for N presses.
#
# A grant is a JSON object {dev, sid, no, req, presses, valid_s, at, mac}.
# `mac` is HMAC-SHA256 under the grant subkey of the device key over the
# pipe-joined fields (see `message`). `sid` binds it to the current link
# session, `no` must exceed every grant accepted before (persisted in the
# journal), and the window is measured on this device's monotonic clock from
# `at`, the device tick count the edge saw when it minted the grant, so a grant
# held back in transit expires instead of opening late.
import binascii
import time

from board import MAX_PRESSES, MAX_VALID_S
from hmac256 import equal

_REQ_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
_FUTURE_SLACK_MS = 5000  # the edge's estimate of our clock may run slightly ahead


def _is_int(v):
    return type(v) is int


def _is_req(v):
    if type(v) is not str or not 0 < len(v) <= 40:
        return False
    for c in v:
        if c not in _REQ_CHARS:
            return False
    return True


def message(g):
    return ("QLG1|%s|%s|%d|%s|%d|%d|%d" % (g["dev"], g["sid"], g["no"], g["req"], g["presses"], g["valid_s"], g["at"])).encode()


def well_formed(g):
    if type(g) is not dict:
        return False
    for name in ("no", "presses", "valid_s", "at"):
        if not _is_int(g.get(name)):
            return False
    for name in ("dev", "sid", "mac"):
        if type(g.get(name)) is not str:
            return False
    # Ticks live in [0, 2**30) on MicroPython; keep every number a small int.
    if not 0 <= g["at"] < 0x40000000 or not 0 < g["no"] < 0x7FFFFFFF:
        return False
    return _is_req(g.get("req")) and len(g["mac"]) == 64


def check(g, mac_key, device_id, sid, last_no, now):
    """Return None if the grant may open the lock now, else the refusal reason."""
    if not well_formed(g):
        return "malformed"
    if not equal(g["mac"].encode(), binascii.hexlify(mac_key.digest(message(g)))):
        return "bad_mac"
    if g["dev"] != device_id:
        return "other_device"
    if g["sid"] != sid:
        return "stale_session"
    if g["no"] <= last_no:
        return "replayed"
    if not 1 <= g["presses"] <= MAX_PRESSES or not 1 <= g["valid_s"] <= MAX_VALID_S:
        return "out_of_range"
    age = time.ticks_diff(now, g["at"])
    if age < -_FUTURE_SLACK_MS:
        return "from_future"
    if age >= g["valid_s"] * 1000:
        return "expired"
    return None


def deadline(g):
    """Tick count at which the grant's window closes."""
    return time.ticks_add(g["at"], g["valid_s"] * 1000)
