"""``qinglian demo --serve``: board + agent + console; the whole loop through the console's HTTP API, then Ctrl-C."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from edge_support import qinglian, serve_demo, stop_demo, wait_until


def test_demo_serve_runs_the_loop_through_the_console_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    log = tmp_path / "demo.log"
    proc, text = serve_demo(data, log)
    try:
        url = re.search(r"open:\s+(http://\S+)/", text).group(1)  # type: ignore[union-attr]
        password = re.search(r"password: (\S+)\)", text).group(1)  # type: ignore[union-attr]
        assert "liming" in text and "zhangwei" in text and "jiandu" in text and "nc -q1 127.0.0.1" in text
        assert json.loads((data / "demo-accounts.json").read_text())["password"] == password

        def session(user: str) -> tuple[httpx.Client, dict[str, str]]:
            client = httpx.Client(base_url=url, timeout=15)
            me = client.post("/api/login", json={"username": user, "password": password})
            assert me.status_code == 200, me.text
            return client, {"X-CSRF-Token": me.json()["csrf_token"]}

        liming, lh = session("liming")
        filed = liming.post(
            "/api/requests", headers=lh, data={"matter": "演示：村道修缮证明", "seal": "official", "presses": "2", "amount": "2500"},
            files={"document": ("合同.png", (data / "inbox" / "sample-contract.png").read_bytes(), "image/png")},
        )  # fmt: skip
        assert filed.status_code == 201, filed.text
        rid = filed.json()["id"]
        # The original is read before the route is fixed: filing waits for that a few seconds, and answers
        # still 识别原件中 when the OCR workers are busy, as the approvers' page does.
        wait_until("routed", lambda: liming.get(f"/api/requests/{rid}").json()["status"] == "pending", 60)
        for approver in ("zhangwei", "chenjing"):
            client, headers = session(approver)
            assert client.post(f"/api/requests/{rid}/approve", headers=headers).status_code == 200
        wangfang, wh = session("wangfang")
        wait_until("in use", lambda: liming.get(f"/api/requests/{rid}").json()["status"] == "in_use")
        wait_until("unlocked", lambda: wangfang.get("/api/devices").json()[0]["lock"] == "unlocked")  # the next status
        page = wangfang.get("/devices")
        assert 'id="press-official-1"' in page.text  # the simulated board has a press button
        for _ in range(2):
            assert wangfang.post("/api/devices/official-1/sim-press", headers=wh).status_code == 200
        wait_until("closed", lambda: liming.get(f"/api/requests/{rid}").json()["status"] == "closed")
        detail = liming.get(f"/api/requests/{rid}").json()
        assert len(detail["press_events"]) == 2 and detail["presses_used"] == 2

        def checked() -> list[dict[str, object]] | None:  # the desk camera photographed each press, OCR compared it
            events = liming.get(f"/api/requests/{rid}").json()["press_events"]
            return events if all(e["match"] is not None for e in events) else None

        events = wait_until("each press photographed and checked", checked, 120, every=0.5)
        assert [(bool(e["photo"]), e["match"], e["flags"]) for e in events] == [(True, True, [])] * 2, events
        shown = liming.get(f"/requests/{rid}")
        assert shown.text.count("与原件一致") == 2 and f"/requests/{rid}/photos/{events[0]['photo']}" in shown.text
        assert liming.get(f"/requests/{rid}/photos/{events[0]['photo']}").headers["content-type"] == "image/jpeg"
        wait_until("relocked", lambda: wangfang.get("/api/devices").json()[0]["lock"] == "locked")  # the next status
        refused = liming.post("/api/devices/official-1/sim-press", headers=lh)
        assert refused.status_code == 403  # only the custodian presses
    finally:
        stop_demo(proc, log)
    text = log.read_text(errors="replace")
    assert "edge/web/" not in text and "edge/notify/" not in text, text[-3000:]  # no traceback through the console
    verified = qinglian("ledger", "verify", "--data", str(data))
    assert verified.returncode == 0, verified.stdout + verified.stderr
