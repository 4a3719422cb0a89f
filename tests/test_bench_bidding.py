"""benchmarks/bench_bidding.py runs end to end with tiny numbers: its JSON line has every figure, and every bidder's
live page carried every bid's update as the rule says it should look (a correctness check: no time is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {
    "db", "bidders", "bids", "bids_per_s", "burst_bids", "burst_refused", "burst_failed", "burst_s", "settled_s",
    "plain_inserts_per_s", "plain_rows", "slowdown", "update_p50_ms", "update_p99_ms", "delivery_p50_ms",
    "delivery_p99_ms", "accept_p50_ms", "accept_p99_ms", "updates_expected", "updates_received", "updates_wrong",
    "final_standing_right", "every_bidder_every_update",
}  # fmt: skip


def test_three_bidders_see_every_one_of_ten_bids() -> None:
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_bidding.py", "--bidders", "3", "--bids", "10", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bids/s" in done.stdout and "rows/s" in done.stdout  # the table comes first
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == FIELDS
    assert (figures["db"], figures["bidders"], figures["bids"]) == ("sqlite", 3, 10)
    # One bid at a time: each of the 3 bidders got an update for each of the 10 bids, each as bidding.standing says.
    assert (figures["updates_expected"], figures["updates_received"], figures["updates_wrong"]) == (30, 30, 0)
    # All at once: all 10 taken, and every bidder's page ended on the final standing.
    assert (figures["burst_bids"], figures["burst_refused"], figures["burst_failed"]) == (10, 0, 0)
    assert figures["final_standing_right"] == 3
    assert figures["plain_rows"] == 20  # the same rows, both phases'
    assert figures["every_bidder_every_update"] is True
    for name in ("bids_per_s", "plain_inserts_per_s", "update_p50_ms", "update_p99_ms", "accept_p50_ms"):
        assert figures[name] > 0, name


def test_fifty_bidders_bidding_at_once_on_sqlite_are_all_answered_and_none_is_lost() -> None:
    """The burst that met "database is locked" (and dropped the bidder's connection) while the central's SQLite
    writers raced each other: now every one of 50 bids sent at once by 50 bidders is taken, and every live page
    ends on the final standing."""
    done = subprocess.run(
        [sys.executable, "benchmarks/bench_bidding.py", "--bidders", "50", "--bids", "50", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert (figures["burst_bids"], figures["burst_refused"], figures["burst_failed"]) == (50, 0, 0), done.stderr
    assert (figures["final_standing_right"], figures["updates_wrong"]) == (50, 0)
    assert figures["every_bidder_every_update"] is True
