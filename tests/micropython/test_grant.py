# firmware/grant.py inside MicroPython, on grants minted by the host (edge/protocol.py).
import binascii

import grant
import host_vectors as hv
from hmac256 import Hmac, subkey
from mptest import reset as setup_function  # noqa: F401

KEY = Hmac(subkey(hv.KEY, b"qinglian/grant/v1"))
G = hv.GRANT  # dev QL-1, sid SID, no 7, presses 3, valid_s 60, at 1000
PERIOD = 1 << 30


def check(g, dev="QL-1", sid=hv.SID, last_no=6, now=1500):
    return grant.check(g, KEY, dev, sid, last_no, now)


def changed(g, field, value):
    g = dict(g)
    g[field] = value
    return g


def without(g, field):
    g = dict(g)
    del g[field]
    return g


def minted(**fields):
    """A grant signed on the device side, with the firmware's own message and Hmac."""
    g = {"dev": "QL-1", "sid": hv.SID, "no": 7, "req": "REQ-7", "presses": 3, "valid_s": 60, "at": 1000}
    for k in fields:
        g[k] = fields[k]
    g["mac"] = binascii.hexlify(KEY.digest(grant.message(g))).decode()
    return g


def test_host_grant_is_good():
    assert check(G) is None


def test_device_minted_grant_matches_host_mac():
    assert minted()["mac"] == G["mac"]


def test_bad_mac():
    for field, value in [("presses", 4), ("no", 8), ("req", "REQ-8"), ("valid_s", 600), ("at", 1001), ("dev", "QL-2"), ("sid", "x")]:
        assert check(changed(G, field, value)) == "bad_mac", field
    flipped = ("0" if G["mac"][0] != "0" else "1") + G["mac"][1:]
    assert check(changed(G, "mac", flipped)) == "bad_mac"
    assert check(changed(G, "mac", G["mac"].upper())) == "bad_mac"  # one spelling per MAC


def test_other_device():
    assert check(G, dev="QL-2") == "other_device"


def test_stale_session():
    assert check(G, sid="ffffffffffffffff") == "stale_session"
    assert check(G, sid=None) == "stale_session"


def test_replayed():
    assert check(G, last_no=7) == "replayed"
    assert check(G, last_no=100) == "replayed"


def test_expired():
    assert check(G, now=1000 + 59999) is None
    assert check(G, now=1000 + 60000) == "expired"
    assert check(G, now=1000 + 3600000) == "expired"


def test_from_future():
    assert check(G, now=1000 - 5000) is None  # within the slack for the edge's clock estimate
    assert check(G, now=1000 - 5001) == "from_future"
    assert check(G, now=(1000 - 6000) % PERIOD) == "from_future"  # before the wrap: far in the past of `at`


def test_out_of_range():
    assert check(minted(presses=0)) == "out_of_range"
    assert check(minted(presses=101)) == "out_of_range"
    assert check(minted(presses=100)) is None
    assert check(minted(valid_s=0)) == "out_of_range"
    assert check(minted(valid_s=86401)) == "out_of_range"
    assert check(minted(valid_s=86400)) is None


def test_malformed():
    cases = [
        None, [], "grant", 7,
        changed(G, "presses", "3"), changed(G, "presses", 3.0), changed(G, "no", True),
        changed(G, "at", PERIOD), changed(G, "at", -1), changed(G, "no", 0), changed(G, "no", 0x7FFFFFFF),
        changed(G, "no", 1 << 64), changed(G, "req", "a|b"), changed(G, "req", ""), changed(G, "req", "r" * 41),
        changed(G, "req", 7), changed(G, "mac", G["mac"][:63]), changed(G, "mac", None), changed(G, "dev", 1),
        changed(G, "sid", b"sid"),
    ]  # fmt: skip
    for name in G:
        cases.append(without(G, name))
    for i, g in enumerate(cases):
        assert check(g) == "malformed", (i, g)
    assert check(minted(req="r" * 40)) is None
    assert check(minted(no=0x7FFFFFFE), last_no=0) is None


def test_tick_wraparound():
    g = hv.WRAP_GRANT  # minted at ticks 2**30 - 500, valid 2 s
    assert g["at"] == PERIOD - 500

    def at(now):
        return grant.check(g, KEY, "QL-1", "s", 0, now)

    assert at(PERIOD - 1) is None
    assert at(1000) is None  # 1.5 s later, after the wrap
    assert at(1499) is None
    assert at(1500) == "expired"
    assert at(1600) == "expired"
    assert grant.deadline(g) == 1500


def test_deadline():
    assert grant.deadline(G) == 61000
    assert grant.deadline(minted(at=PERIOD - 1, valid_s=1)) == 999


# -- maintenance grants ------------------------------------------------------------

M = hv.MAINT_GRANT  # dev QL-1, sid SID, no 8, secs 600, at 1000


def check_m(g, dev="QL-1", sid=hv.SID, last_no=7, now=1500):
    return grant.check_maintenance(g, KEY, dev, sid, last_no, now)


def test_host_maintenance_grant_is_good():
    assert check_m(M) is None


def test_maintenance_grant_refusals():
    assert check_m(changed(M, "secs", 601)) == "bad_mac"
    assert check_m(M, dev="QL-2") == "other_device"
    assert check_m(M, sid="ffffffffffffffff") == "stale_session"
    assert check_m(M, last_no=8) == "replayed"
    assert check_m(M, now=1000 + 29999) is None
    assert check_m(M, now=1000 + 30000) == "expired"  # must be used at once, whatever secs says
    assert check_m(M, now=(1000 - 5001) % PERIOD) == "from_future"
    assert check_m(changed(M, "secs", 0)) == "out_of_range"
    assert check_m(changed(M, "secs", 3601)) == "out_of_range"
    for g in (None, changed(M, "secs", "600"), without(M, "secs"), without(M, "at"), changed(M, "mac", "")):
        assert check_m(g) == "malformed", g


def test_one_kind_of_grant_never_passes_as_the_other():
    # A use grant's fields and MAC, presented as a maintenance grant, and the reverse.
    as_maint = {"dev": G["dev"], "sid": G["sid"], "no": G["no"], "secs": G["valid_s"], "at": G["at"], "mac": G["mac"]}
    assert check_m(as_maint, last_no=0) == "bad_mac"
    as_use = {"dev": M["dev"], "sid": M["sid"], "no": M["no"], "req": "R", "presses": 1, "valid_s": M["secs"], "at": M["at"], "mac": M["mac"]}
    assert check(as_use, last_no=0) == "bad_mac"
    assert check(M) == "malformed"  # and a maintenance grant has no req/presses/valid_s
