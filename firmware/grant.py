# Checking grants: authenticated instructions from the edge.
#
# A use grant {dev, sid, no, req, presses, valid_s, at, mac} unlocks for N
# presses; a maintenance grant {dev, sid, no, secs, at, mac} hands the UART to
# the REPL for `secs` seconds. `mac` is HMAC-SHA256 under the grant subkey of
# the device key over the pipe-joined fields (see `message` and
# `maintenance_message`; the prefixes keep one kind from passing as the
# other). `sid` binds a grant to the current link session, `no` must exceed
# every grant number accepted before (one sequence for both kinds, persisted
# in the journal), and age is measured on this device's monotonic clock from
# `at`, the device tick count the edge saw when it minted the grant, so a
# grant held back in transit expires instead of opening late.
import binascii
import time

from board import MAX_PRESSES, MAX_VALID_S
from hmac256 import equal

_MAINTENANCE_FRESH_MS = 30000  # a maintenance grant must be used at once
_MAX_MAINTENANCE_S = 3600
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


def maintenance_message(g):
    return ("QLM1|%s|%s|%d|%d|%d" % (g["dev"], g["sid"], g["no"], g["secs"], g["at"])).encode()


def _well_formed(g, int_fields):
    if type(g) is not dict:
        return False
    for name in int_fields:
        if not _is_int(g.get(name)):
            return False
    for name in ("dev", "sid", "mac"):
        if type(g.get(name)) is not str:
            return False
    # Ticks live in [0, 2**30) on MicroPython; keep every number a small int.
    return 0 <= g["at"] < 0x40000000 and 0 < g["no"] < 0x7FFFFFFF and len(g["mac"]) == 64


def well_formed(g):
    return _well_formed(g, ("no", "presses", "valid_s", "at")) and _is_req(g.get("req"))


def _check(g, msg, mac_key, device_id, sid, last_no, now, window_ms):
    """The checks every grant passes: MAC, device, session, number, age."""
    if not equal(g["mac"].encode(), binascii.hexlify(mac_key.digest(msg))):
        return "bad_mac"
    if g["dev"] != device_id:
        return "other_device"
    if g["sid"] != sid:
        return "stale_session"
    if g["no"] <= last_no:
        return "replayed"
    age = time.ticks_diff(now, g["at"])
    if age < -_FUTURE_SLACK_MS:
        return "from_future"
    if age >= window_ms:
        return "expired"
    return None


def check(g, mac_key, device_id, sid, last_no, now):
    """Return None if the use grant may open the lock now, else the refusal reason."""
    if not well_formed(g):
        return "malformed"
    if not 1 <= g["presses"] <= MAX_PRESSES or not 1 <= g["valid_s"] <= MAX_VALID_S:
        return "out_of_range"
    return _check(g, message(g), mac_key, device_id, sid, last_no, now, g["valid_s"] * 1000)


def check_maintenance(g, mac_key, device_id, sid, last_no, now):
    """Return None if the maintenance grant may open a window now, else the refusal reason."""
    if not _well_formed(g, ("no", "secs", "at")):
        return "malformed"
    if not 1 <= g["secs"] <= _MAX_MAINTENANCE_S:
        return "out_of_range"
    return _check(g, maintenance_message(g), mac_key, device_id, sid, last_no, now, _MAINTENANCE_FRESH_MS)


def deadline(g):
    """Tick count at which the grant's window closes."""
    return time.ticks_add(g["at"], g["valid_s"] * 1000)
