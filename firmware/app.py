# The seal: grants in, lock out, every press counted, photographed and reported.
import binascii
import time

import board
import fwhash
import grant as grants
import machine
from hmac256 import Hmac, subkey
from journal import Journal
from link import Link
from lock import Lock
from switch import Switch
from trigger import Trigger
from version import VERSION

_CAUSES = {
    machine.PWRON_RESET: "power",
    machine.HARD_RESET: "hard",
    machine.WDT_RESET: "watchdog",
    machine.DEEPSLEEP_RESET: "deepsleep",
    machine.SOFT_RESET: "soft",
}
_FRAMES_PER_LOOP = 8  # bound the work per loop so the watchdog and switches keep their pace
_EVENTS_PER_LOOP = 8


class Seal:
    def __init__(self, device_id, key, port):
        self.lock = Lock(board.LOCK_PIN)  # first of all: drive the lock shut
        self.device_id = device_id
        self.journal = Journal()
        self.link = Link(port, key)
        self._grant_key = Hmac(subkey(key, b"qinglian/grant/v1"))
        self.press = Switch(board.PRESS_PIN, True)
        self.tamper = Switch(board.TAMPER_PIN, False)
        self.camera = Trigger(board.CAMERA_PIN)
        self.fw = binascii.hexlify(fwhash.firmware_hash()).decode()
        self.grant = None  # the grant in force: dict(no, req, presses, used, until)
        self._maintenance = 0  # seconds of an accepted maintenance window; ends run()
        self._sent_upto = 0  # highest event id sent in this session
        self._sent_at = time.ticks_ms()
        self._announce_at = time.ticks_add(self._sent_at, -board.ANNOUNCE_MS)
        self._boot()

    # -- events -------------------------------------------------------------

    def _emit(self, kind, fields):
        """Persist an event, then send it if the edge is listening."""
        self.journal.record(kind, fields)
        self._flush(time.ticks_ms())

    def _flush(self, now):
        if self.link.sid is None:
            return
        sent = 0
        pending = self.journal.pending
        for eid, line in pending:
            if eid > self._sent_upto:
                if sent == _EVENTS_PER_LOOP:
                    return
                self.link.send_event(line, pending[0][0])
                self._sent_upto = eid
                self._sent_at = now
                sent += 1

    def _boot(self):
        j = self.journal
        if j.open_grant:
            # Power went while the lock was open; the reboot closed it.
            self._emit("relocked", {"no": j.open_grant, "reason": "reboot"})
        if j.open_maintenance:
            # A maintenance window ends with a reset, by its timer or by hand.
            self._emit("maintenance_closed", {"no": j.open_maintenance})
        cause = _CAUSES.get(machine.reset_cause(), "other")
        self._emit("boot", {"boots": j.boots + 1, "cause": cause, "fw": self.fw, "ver": VERSION, "presses": j.presses})

    # -- status -------------------------------------------------------------

    def status(self):
        j = self.journal
        now = time.ticks_ms()
        g = self.grant
        if g is not None:
            g = {"no": g["no"], "req": g["req"], "presses": g["presses"], "used": g["used"], "ms_left": time.ticks_diff(g["until"], now)}
        return {
            "dev": self.device_id,
            "lock": "unlocked" if self.lock.is_open() else "locked",
            "presses": j.presses,
            "attempts": j.attempts,
            "grant": g,
            "last_grant": j.grant,
            "tamper": self.tamper.active,
            "pending": len(j.pending),
            "first": j.pending[0][0] if j.pending else j.next_id,
            "dropped": j.dropped,
            "bad": self.link.bad,
            "boots": j.boots,
            "writes": j.writes,
            "fw": self.fw,
            "ms": now,
        }

    # -- frames from the edge -------------------------------------------------

    def _on_frame(self, f):
        t = f["t"]
        if t == "hello":
            self.link.start_session()
            reply = self.status()
            reply["t"] = "hello"
            reply["n"] = f["n"]
            reply["ver"] = VERSION
            self.link.send(reply)
            self._sent_upto = 0  # a new session gets every unacknowledged event again
        elif t == "ack":
            if type(f.get("a")) is int:
                self.journal.ack(f["a"])
        elif t == "grant":
            self._on_grant(f.get("g"))
        elif t == "maint":
            self._on_maintenance(f.get("g"))
        elif t == "close":
            if self.grant is not None and f.get("no") == self.grant["no"]:
                self._relock("closed")
        elif t == "status":
            reply = self.status()
            reply["t"] = "status"
            self.link.send(reply)

    def _on_grant(self, g):
        j = self.journal
        reason = grants.check(g, self._grant_key, self.device_id, self.link.sid, j.grant, time.ticks_ms())
        if reason is None:
            if self.grant is not None:
                reason = "busy"
            elif self.tamper.active:
                reason = "tamper"
            elif j.room() < g["presses"] + 8:
                reason = "store_full"  # this grant's events might not fit
        if reason is not None:
            ok = grants.well_formed(g)
            self._emit("grant_refused", {"no": g["no"] if ok else None, "req": g["req"] if ok else None, "reason": reason})
            return
        # The accepted grant number is in flash before the lock moves.
        self._emit("grant_ok", {"no": g["no"], "req": g["req"], "presses": g["presses"], "valid_s": g["valid_s"]})
        self.grant = {"no": g["no"], "req": g["req"], "presses": g["presses"], "used": 0, "until": grants.deadline(g)}
        self.lock.open()
        self._emit("unlocked", {"no": g["no"]})

    def _on_maintenance(self, g):
        j = self.journal
        reason = grants.check_maintenance(g, self._grant_key, self.device_id, self.link.sid, j.grant, time.ticks_ms())
        if reason is None and self.grant is not None:
            reason = "busy"  # never while a use grant is in force
        if reason is not None:
            no = g.get("no") if type(g) is dict and type(g.get("no")) is int else None
            self._emit("maintenance_refused", {"no": no, "reason": reason})
            return
        self._emit("maintenance_open", {"no": g["no"], "secs": g["secs"]})
        self._maintenance = g["secs"]

    # -- the physical side ----------------------------------------------------

    def _on_press(self, now):
        j = self.journal
        g = self.grant
        if g is None:
            self._emit("locked_press", {"attempts": j.attempts + 1})
            return
        self.camera.pulse(now)
        g["used"] += 1
        # The new lifetime total is in flash before anyone hears of the press.
        self._emit("press", {"no": g["no"], "n": g["used"], "total": j.presses + 1})
        if g["used"] >= g["presses"]:
            self._relock("presses_used")

    def _on_tamper(self, active):
        self._emit("tamper", {"active": active})
        if active and self.grant is not None:
            self._relock("tamper")

    def _relock(self, reason):
        g = self.grant
        if g is None:
            return
        self.grant = None
        self.lock.close()
        self._emit("relocked", {"no": g["no"], "reason": reason, "used": g["used"], "left": g["presses"] - g["used"]})

    # -- the loop ---------------------------------------------------------------

    def _housekeeping(self, now):
        j = self.journal
        if self.link.sid is None:
            if time.ticks_diff(now, self._announce_at) >= board.ANNOUNCE_MS:
                # Until the edge says hello it cannot know we rebooted: tell it.
                self.link.send({"t": "announce", "dev": self.device_id, "boots": j.boots})
                self._announce_at = now
            return
        if j.pending and time.ticks_diff(now, self._sent_at) >= board.RESEND_MS:
            self._sent_upto = 0  # nothing acknowledged for a while: send them all again
        self._flush(now)
        if j.dropped and j.room() > j.capacity // 2:
            dropped = j.dropped
            j.dropped = 0
            self._emit("overflow", {"dropped": dropped})
        if self.grant is None:
            j.maybe_compact()

    def run(self):
        """Serve until a maintenance window opens; return its length in seconds."""
        wdt = machine.WDT(timeout=board.WDT_MS)
        link = self.link
        while not self._maintenance:
            now = time.ticks_ms()
            for _ in range(_FRAMES_PER_LOOP):
                frame = link.receive()
                if frame is None:
                    break
                self._on_frame(frame)
            change = self.press.poll(now)
            if change == 1:
                self._on_press(now)
            change = self.tamper.poll(now)
            if change:
                self._on_tamper(change == 1)
            self.camera.poll(now)
            if self.grant is not None and time.ticks_diff(now, self.grant["until"]) >= 0:
                self._relock("expired")
            self._housekeeping(now)
            wdt.feed()  # reached only when every step above returned
            time.sleep_ms(board.LOOP_MS)
        return self._maintenance
