"""``qinglian demo --json``: the whole loop on hostsim, continued by a second run; then one byte tampered."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from edge_support import qinglian


def _demo(*args: str) -> dict:  # type: ignore[type-arg]
    result = qinglian("demo", "--json", *args, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout  # exactly one JSON object
    report: dict = json.loads(lines[0])  # type: ignore[type-arg]
    return report


def test_demo_runs_twice_on_the_same_data_then_verify_catches_one_changed_byte(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    first = _demo("--data", str(data))
    assert first["ok"] is True
    assert first["presses_approved"] == first["presses_recorded"] == 3
    assert first["lock_final"] == "locked"
    assert first["ledger_verified"] is True
    assert first["data_dir"] == str(data.resolve())
    assert first["board_presses_total"] == 3 and first["request_status"] == "closed"

    second = _demo("--data", str(data))
    assert second["ok"] is True
    assert second["device_id"] == first["device_id"]  # the same board
    assert second["board_presses_total"] == 6  # the same flash, its counter goes on
    assert second["ledger_entries"] > first["ledger_entries"]  # the same ledger, extended
    assert second["ledger_verified"] is True
    assert second["request_id"] != first["request_id"]

    ok = qinglian("ledger", "verify", "--data", str(data))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    # Change one stored byte of one entry: the first run's filing.
    db = data / "ledger.sqlite3"
    conn = sqlite3.connect(db)
    try:
        (index, body) = conn.execute(
            "SELECT idx, body FROM entries WHERE kind = 'seal_request.filed' ORDER BY idx LIMIT 1"
        ).fetchone()
        changed = body.replace('"presses":3', '"presses":9', 1)
        assert len(changed) == len(body) and changed != body
        conn.execute("DROP TRIGGER entries_no_update")  # someone with the file can do this
        conn.execute("UPDATE entries SET body = ? WHERE idx = ?", (changed, index))
        conn.commit()
    finally:
        conn.close()
    bad = qinglian("ledger", "verify", "--data", str(data))
    assert bad.returncode != 0
    assert f"entry {index}" in bad.stdout, bad.stdout
    report = json.loads(qinglian("ledger", "verify", "--data", str(data), "--json").stdout)
    assert report["ok"] is False and report["first_bad_index"] == index


def test_demo_without_data_uses_a_kept_temp_dir() -> None:
    report = _demo()
    try:
        assert report["ok"] is True
        data = Path(report["data_dir"])
        assert (data / "ledger.sqlite3").is_file() and (data / "board" / "flash").is_dir()
    finally:
        shutil.rmtree(report["data_dir"], ignore_errors=True)


def test_demo_human_summary(tmp_path: Path) -> None:
    result = qinglian("demo", "--data", str(tmp_path / "d"), "--presses", "1", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "核验通过 verified" in result.stdout and "approved presses: 1" in result.stdout


async def test_after_a_firmware_change_the_demo_flashes_its_board_and_allows_only_signed_releases(tmp_path: Path) -> None:
    from edge.seal.db import EdgeDB
    from edge.demo import run_demo
    from hostsim.flash import FIRMWARE_DIR

    data = tmp_path / "demo"
    first = await run_demo(data, presses=1)
    assert first["ok"] is True and first["firmware_flashed"] is False  # the board already runs this checkout's code
    changed = tmp_path / "firmware"
    shutil.copytree(FIRMWARE_DIR, changed)
    (changed / "version.py").write_text('VERSION = "0.1.0+demo"\n')
    second = await run_demo(data, presses=1, firmware=changed)
    assert second["ok"] is True and second["firmware_flashed"] is True
    assert second["firmware_hash"] != first["firmware_hash"] and second["board_presses_total"] == 2
    db = await EdgeDB.open(data)
    try:
        assert {r.firmware_hash for r in await db.releases()} == {first["firmware_hash"], second["firmware_hash"]}
    finally:
        await db.close()
    kinds = [row[0] for row in sqlite3.connect(data / "ledger.sqlite3").execute("SELECT kind FROM entries")]
    assert "firmware.flashed" in kinds and "seal.maintenance_open" in kinds
