# firmware/link.py inside MicroPython: frames made by the host (edge/protocol.py)
# and by the firmware's own hmac256, fed through a byte-queue port.
import json

import grant
import host_vectors as hv
import link
from hmac256 import Hmac, subkey
from mptest import BytePort, decode_frame, drain, make_frame
from mptest import reset as setup_function  # noqa: F401

F = hv.FRAMES
LINK_MAC = Hmac(subkey(hv.KEY, b"qinglian/link/v1"))


def new_link(data=b"", sid=hv.SID):
    dl = link.Link(BytePort(data), hv.KEY)
    if sid is not None:
        dl.start_session()
        dl.sid = sid  # the session the host frames were made for
    return dl


def feed(dl, data):
    dl._port.feed(data)
    return drain(dl)


def test_host_hello_is_accepted_outside_a_session():
    dl = new_link(F["hello"], sid=None)
    assert drain(dl) == [{"t": "hello", "n": "n1"}]
    assert dl.bad == 0


def test_host_frames_are_accepted_in_session():
    dl = new_link()
    frames = feed(dl, F["status_1"] + F["ack_2"] + F["grant_3"])
    assert [f["t"] for f in frames] == ["status", "ack", "grant"], frames
    assert frames[1]["a"] == 4 and frames[2]["s"] == 3 and frames[2]["sid"] == hv.SID
    assert frames[2]["g"] == hv.GRANT
    assert dl.bad == 0


def test_grant_inside_a_host_frame_passes_the_check():
    dl = new_link()
    (frame,) = feed(dl, F["grant_3"])
    key = Hmac(subkey(hv.KEY, b"qinglian/grant/v1"))
    assert grant.check(frame["g"], key, hv.DEV, dl.sid, 0, 2000) is None


def test_session_frames_before_a_session_are_refused():
    dl = new_link(sid=None)
    assert feed(dl, F["status_1"]) == []
    assert dl.bad == 1


def test_a_flipped_byte_is_refused():
    dl = new_link()
    frame = F["status_1"]
    tried = 0
    for pos in range(len(frame) - 1):  # keep the newline
        for mask in (0x01, 0x20, 0x80):
            bad = bytearray(frame)
            bad[pos] ^= mask
            if bad[pos] in (10, 13):
                continue
            tried += 1
            assert feed(dl, bytes(bad)) == [], (pos, mask, bytes(bad))
    assert dl.bad == tried
    assert feed(dl, frame) == [{"t": "status", "s": 1, "sid": hv.SID}]  # the state was not poisoned


def test_noise_and_oversize_lines_are_counted_in_bad():
    dl = new_link()
    noise = [b"garbage", b"#", b"#{}*", b"*" * 40, b"#" + b"x" * 40 + b"*" + b"0" * 32, bytes(range(0, 10)) + bytes(range(11, 256))]
    for line in noise:
        feed(dl, line + b"\n")
    assert dl.bad == len(noise), dl.bad
    feed(dl, b"\n\r\n\n")  # blank lines are not worth counting
    assert dl.bad == len(noise)
    oversize = b"#" + b"x" * 5000 + b"*" + b"0" * 32 + b"\n"
    assert feed(dl, oversize + F["status_1"]) == [{"t": "status", "s": 1, "sid": hv.SID}]
    assert dl.bad == len(noise) + 1


def test_oversize_valid_frame_is_refused():
    dl = new_link()
    big = make_frame(LINK_MAC, {"t": "status", "s": 1, "sid": hv.SID, "pad": "x" * 600})
    assert feed(dl, big + F["ack_2"]) == [{"t": "ack", "a": 4, "s": 2, "sid": hv.SID}]
    assert dl.bad == 1


def test_crlf_line_ending_is_accepted():
    dl = new_link()
    assert len(feed(dl, F["status_1"][:-1] + b"\r\n")) == 1
    assert dl.bad == 0


def test_replayed_sequence_is_refused():
    dl = new_link()
    assert len(feed(dl, F["status_1"] + F["status_1"])) == 1
    assert dl.bad == 1
    assert len(feed(dl, F["grant_3"] + F["ack_2"])) == 1  # sequence numbers only go up
    assert dl.bad == 2


def test_other_session_is_refused():
    dl = new_link()
    assert feed(dl, F["other_session"]) == []
    assert dl.bad == 1
    dl.start_session()  # a new session forgets the old one's frames
    assert feed(dl, F["status_1"]) == []
    assert dl.bad == 2


def test_device_direction_frame_is_not_an_edge_frame():
    dl = new_link()
    assert feed(dl, F["device_frame"]) == []  # a device frame reflected back
    assert dl.bad == 1


def test_hello_nonce_is_bounded():
    dl = new_link(sid=None)
    assert feed(dl, make_frame(LINK_MAC, {"t": "hello", "n": "n" * 64})) == [{"t": "hello", "n": "n" * 64}]
    assert feed(dl, make_frame(LINK_MAC, {"t": "hello", "n": "n" * 65})) == []
    assert feed(dl, make_frame(LINK_MAC, {"t": "hello", "n": 5})) == []
    assert feed(dl, make_frame(LINK_MAC, b"[1, 2]")) == []
    assert feed(dl, make_frame(LINK_MAC, b"{not json")) == []
    assert dl.bad == 4


def test_device_made_frames_are_accepted():
    dl = new_link()
    frames = [make_frame(LINK_MAC, {"t": "ack", "a": i, "s": i, "sid": hv.SID}) for i in range(1, 6)]
    assert [f["a"] for f in feed(dl, b"".join(frames))] == [1, 2, 3, 4, 5]


def test_frames_split_byte_by_byte():
    dl = new_link()
    stream = F["status_1"] + b"noise\n" + F["ack_2"] + F["grant_3"]
    got = []
    for b in stream:
        dl._port.feed(bytes([b]))
        frame = dl.receive()
        if frame is not None:
            got.append(frame["t"])
    assert got == ["status", "ack", "grant"], got
    assert dl.bad == 1


def test_receive_budget_bounds_the_work():
    dl = new_link(F["status_1"])
    assert dl.receive(budget=10) is None
    assert dl._port.waiting() == len(F["status_1"]) - 10
    assert dl.receive()["s"] == 1


def test_send_event_is_what_the_host_expects():
    dl = new_link()
    dl.send_event('{"id": 3, "k": "press", "total": 7}', 3)
    assert bytes(dl._port.sent) == hv.DEVICE_EVENT, bytes(dl._port.sent)


def test_send_numbers_frames_in_session():
    dl = new_link(sid=None)
    dl.send({"t": "announce", "dev": "QL-1"})
    dl.start_session()
    dl.send({"t": "status", "lock": "locked"})
    dl.send({"t": "status"})
    lines = dl._port.take_lines()
    frames = [decode_frame(LINK_MAC, line) for line in lines]
    assert frames[0] == {"t": "announce", "dev": "QL-1"}
    assert frames[1]["s"] == 1 and frames[1]["sid"] == dl.sid and frames[1]["lock"] == "locked"
    assert frames[2]["s"] == 2
    for line in lines:  # and they are not edge frames
        assert feed(new_link(), line + b"\n") == []


def test_session_ids_are_fresh():
    dl = new_link(sid=None)
    dl.start_session()
    first = dl.sid
    dl.start_session()
    assert len(first) == 16 and len(dl.sid) == 16 and first != dl.sid
    int(first, 16)
    json.dumps(first)
