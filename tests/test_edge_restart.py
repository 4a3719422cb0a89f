"""``qinglian edge run`` killed with -9 in the middle of a grant loses no press and records none twice.

Everything goes through the console script, in separate processes, the way a
village office would use it: the agent runs as ``edge run``; enrolment, filing
and approvals are CLI steps handed to the running agent through the database.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from edge_support import (
    document,
    kill9,
    ledger_rows,
    qinglian,
    qinglian_json,
    read_db,
    request_status,
    start_edge,
    wait_until,
    write_config,
)

from hostsim.control import SimBoard

PRESSES = 9


def _presses(data: Path, request_id: str) -> list[dict]:  # type: ignore[type-arg]
    return [r["body"] for r in ledger_rows(data, "seal.press") if r["body"].get("request_id") == request_id]


def _online(data: Path) -> bool:
    try:
        return bool(read_db(data, "SELECT online FROM devices")[0]["online"])
    except Exception:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_kill_9_mid_grant_loses_no_press_and_duplicates_none(board: SimBoard, tmp_path: Path) -> None:
    config = write_config(tmp_path, board.serial_url, board.device_id, use_window_s=120)
    cfg = str(config)
    data = tmp_path / "edge"
    log = tmp_path / "edge.log"
    identity = board.state / "flash" / "identity.json"
    enrolled = qinglian_json("edge", "enrol", "--config", cfg, "--key-file", str(identity), "--device-id", str(board.device_id))
    assert enrolled["device_id"] == board.device_id

    edge = start_edge(config, log)
    try:
        wait_until("the device online", lambda: _online(data))
        filed = qinglian_json(
            "request", "file", "--config", cfg, "--as", "liming", "--matter", "村道修缮证明", "--seal", "official",
            "--presses", str(PRESSES), "--amount", "2500", "--document", str(document(tmp_path)),
        )  # fmt: skip
        rid = filed["id"]
        assert filed["status"] == "pending" and filed["amount_fen"] == 250000
        qinglian_json("request", "approve", "--config", cfg, "--as", "zhangwei", rid)
        approved = qinglian_json("request", "approve", "--config", cfg, "--as", "chenjing", rid)
        assert approved["status"] in ("approved", "granted", "in_use")
        wait_until("the seal unlocked", lambda: request_status(data, rid) == "in_use")

        board.control.press(40)
        board.control.press(40)
        wait_until("two presses recorded", lambda: len(_presses(data, rid)) == 2)
        made = 2
        # Kill the edge at a few moments around a press being delivered and recorded: before the
        # device sees it, while the event is on its way or being committed, after the commit but
        # (maybe) before the acknowledgement. Then press once more while no edge is listening.
        for delay in (0.0, 0.022, 0.03):
            presser = threading.Thread(target=board.control.press, args=(40,))
            presser.start()
            time.sleep(delay)
            kill9(edge)
            presser.join()
            board.control.press(40)
            made += 2
            assert board.control.state()["presses_total"] == made
            edge = start_edge(config, log)
            wait_until(f"{made} presses recorded", lambda: len(_presses(data, rid)) == made)
        assert made == PRESSES - 1
        board.control.press(40)  # the last allowed press
        wait_until("the request closed", lambda: request_status(data, rid) == "closed")
    finally:
        _stop(edge)

    presses = _presses(data, rid)
    assert [p["event"]["n"] for p in presses] == list(range(1, PRESSES + 1))
    assert [p["event"]["total"] for p in presses] == list(range(1, PRESSES + 1))
    assert len({p["event_id"] for p in presses}) == PRESSES
    state = board.control.state()
    assert state["presses_total"] == PRESSES and state["lock"] == "locked"
    # No device event recorded twice, whatever was resent after the restart.
    event_ids = [r["body"]["event_id"] for r in ledger_rows(data) if r["kind"].startswith("seal.")]
    assert len(event_ids) == len(set(event_ids))
    (closed,) = [r["body"] for r in ledger_rows(data, "seal_request.closed")]
    assert closed["presses_used"] == PRESSES and closed["reason"] == "presses_used"
    assert len(ledger_rows(data, "agent.started")) == 4
    shown = qinglian_json("request", "show", "--config", cfg, rid)
    assert shown["status"] == "closed" and [p["n"] for p in shown["press_events"]] == list(range(1, PRESSES + 1))
    verify = qinglian("ledger", "verify", "--data", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_cli_steps_work_without_a_running_agent(tmp_path: Path, board: SimBoard) -> None:
    """With no agent, a CLI step becomes the writer for a moment; the agent later sends the grant."""
    config = write_config(tmp_path, board.serial_url, board.device_id)
    cfg = str(config)
    data = tmp_path / "edge"
    identity = board.state / "flash" / "identity.json"
    qinglian("edge", "enrol", "--config", cfg, "--key-file", str(identity), check=True)
    rid = qinglian_json(
        "request", "file", "--config", cfg, "--as", "liming", "--matter", "证明", "--seal", "official",
        "--presses", "1", "--amount-fen", "100", "--document", str(document(tmp_path)),
    )["id"]  # fmt: skip

    refused = qinglian("request", "approve", "--config", cfg, "--as", "liming", rid)
    assert refused.returncode == 1 and "self_approval" in refused.stderr
    custodian = qinglian("request", "approve", "--config", cfg, "--as", "wangfang", rid)
    assert custodian.returncode == 1 and "custodian" in custodian.stderr
    bad = qinglian("request", "file", "--config", cfg, "--as", "liming", "--matter", "x", "--seal", "official",
                   "--presses", "0", "--document", str(document(tmp_path)))  # fmt: skip
    assert bad.returncode == 1 and "bad_presses" in bad.stderr
    assert [r["body"]["reason"] for r in ledger_rows(data, "seal_request.approval_refused")] == [
        "self_approval", "custodian_approval",
    ]  # fmt: skip

    qinglian_json("request", "approve", "--config", cfg, "--as", "zhangwei", rid)
    assert qinglian_json("request", "approve", "--config", cfg, "--as", "chenjing", rid)["status"] == "approved"
    listed = qinglian_json("request", "list", "--config", cfg, "--status", "approved")
    assert [r["id"] for r in listed] == [rid]

    edge = start_edge(config, tmp_path / "edge.log")
    try:
        wait_until("the seal unlocked", lambda: request_status(data, rid) == "in_use")
        board.control.press(40)
        wait_until("the request closed", lambda: request_status(data, rid) == "closed")
        status = qinglian_json("edge", "status", "--config", cfg)
        assert status[0]["presses_total"] == 1 and status[0]["online"]
    finally:
        _stop(edge)
    human = qinglian("request", "show", "--config", cfg, rid, check=True).stdout
    assert "已完成" in human and "presses used 1/1" in human
