# The device journal in flash: lifetime counters and unacknowledged events.
#
# Every event is one JSON line appended to `events.log` and flushed before the
# caller reports it, so the append *is* the persistence of the counters it
# carries (a press event holds the new lifetime total, a grant event the grant
# number): one flash write per event. `state.json` is a snapshot written only
# when the log is compacted; at boot the snapshot is replayed forward through
# the log. A torn last line from a power cut is ignored.
import json
import os

from board import COMPACT_AFTER, EVENT_CAPACITY

STATE_FILE = "state.json"
LOG_FILE = "events.log"


def _write_atomic(name, text):
    tmp = name + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, name)


class Journal:
    def __init__(self, capacity=EVENT_CAPACITY):
        self.capacity = capacity
        self.presses = 0  # lifetime presses while unlocked
        self.attempts = 0  # lifetime presses while locked
        self.grant = 0  # highest grant number ever accepted
        self.open_grant = 0  # accepted grant with no relock recorded yet
        self.open_maintenance = 0  # maintenance window opened and not yet seen closed
        self.boots = 0
        self.next_id = 1
        self.acked = 0  # events up to this id are with the edge
        self.dropped = 0  # events lost to overflow since the last report
        self.writes = 0  # flash writes since boot, for the benchmark
        self.pending = []  # [(id, line)] not yet acknowledged, oldest first
        self._log_lines = 0
        self._load()

    # -- boot -------------------------------------------------------------

    def _load(self):
        try:
            with open(STATE_FILE) as f:
                self._restore(json.loads(f.read()))
        except (OSError, ValueError, KeyError):
            pass  # first boot, or a snapshot cut mid-write before its rename
        torn = False
        try:
            with open(LOG_FILE) as f:
                for raw in f:
                    if not raw.endswith("\n"):
                        torn = True  # the next append must not glue onto this line
                    line = raw.strip()
                    if not line:
                        continue
                    try:
                        ev = json.loads(line)
                        self._apply(ev)
                    except (ValueError, KeyError, TypeError):
                        torn = True
                        continue
                    self._log_lines += 1
                    if ev["id"] > self.acked:
                        self.pending.append((ev["id"], line))
        except OSError:
            pass
        while len(self.pending) > self.capacity:
            self._drop_oldest()
        if torn:
            self.compact()

    def _restore(self, s):
        # A snapshot from older firmware lacks newer counters: they start from zero.
        self.presses = s.get("presses", 0)
        self.attempts = s.get("attempts", 0)
        self.grant = s.get("grant", 0)
        self.open_grant = s.get("open_grant", 0)
        self.open_maintenance = s.get("open_maintenance", 0)
        self.boots = s.get("boots", 0)
        self.next_id = s.get("next_id", 1)
        self.acked = s.get("acked", 0)

    def _apply(self, ev):
        """Advance the counters by one recorded event (at boot and at record time)."""
        eid = ev["id"]
        if eid >= self.next_id:
            self.next_id = eid + 1
        kind = ev["k"]
        if kind == "press":
            if ev["total"] > self.presses:
                self.presses = ev["total"]
        elif kind == "locked_press":
            if ev["attempts"] > self.attempts:
                self.attempts = ev["attempts"]
        elif kind == "grant_ok":
            if ev["no"] > self.grant:
                self.grant = ev["no"]
            self.open_grant = ev["no"]
        elif kind == "relocked":
            self.open_grant = 0
        elif kind == "maintenance_open":
            if ev["no"] > self.grant:
                self.grant = ev["no"]  # one number sequence for every kind of grant
            self.open_maintenance = ev["no"]
        elif kind == "maintenance_closed":
            self.open_maintenance = 0
        elif kind == "boot":
            if ev["boots"] > self.boots:
                self.boots = ev["boots"]

    # -- running ----------------------------------------------------------

    def record(self, kind, fields):
        """Persist one event, then return its wire form (a JSON line)."""
        fields["id"] = self.next_id
        fields["k"] = kind
        line = json.dumps(fields)
        with open(LOG_FILE, "a") as f:
            f.write(line)
            f.write("\n")
        self.writes += 1
        self._log_lines += 1
        self._apply(fields)
        self.pending.append((fields["id"], line))
        if len(self.pending) > self.capacity:
            self._drop_oldest()
        return line

    def _drop_oldest(self):
        eid = self.pending.pop(0)[0]
        if eid > self.acked:
            self.acked = eid
        self.dropped += 1

    def room(self):
        return self.capacity - len(self.pending)

    def ack(self, upto):
        """Forget events the edge holds; the log is rewritten later, when idle."""
        if upto >= self.next_id:
            return False  # acknowledges something never sent: ignore
        if upto > self.acked:
            self.acked = upto
        while self.pending and self.pending[0][0] <= upto:
            self.pending.pop(0)
        return True

    def maybe_compact(self):
        if self._log_lines - len(self.pending) >= COMPACT_AFTER:
            self.compact()

    def compact(self):
        """Write the snapshot, then a log of only the unacknowledged events.

        A cut between the two renames leaves the new snapshot with the old log,
        which replays to the same counters and at worst resends acked events.
        """
        state = {
            "presses": self.presses,
            "attempts": self.attempts,
            "grant": self.grant,
            "open_grant": self.open_grant,
            "open_maintenance": self.open_maintenance,
            "boots": self.boots,
            "next_id": self.next_id,
            "acked": self.acked,
        }
        _write_atomic(STATE_FILE, json.dumps(state))
        _write_atomic(LOG_FILE, "".join([line + "\n" for _, line in self.pending]))
        self.writes += 2
        self._log_lines = len(self.pending)
