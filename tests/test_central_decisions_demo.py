"""``make demo`` starts a central store beside the edge: its address and a supervisor token in the banner, the
village syncing to it, the decision log's key published and pinned by the village, and a second run reusing both."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from edge_support import qinglian, serve_demo, stop_demo, wait_until


def test_make_demo_runs_a_central_store_beside_the_edge(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    seen = []
    for run in range(2):
        log = tmp_path / f"demo-{run}.log"
        proc, text = serve_demo(data, log)
        try:
            central = re.search(r"central store: (http://127\.0\.0\.1:\d+)/", text)
            token = re.search(r"supervisor token: (\S+)\)", text)
            assert central is not None and token is not None, text
            with httpx.Client(base_url=central.group(1), timeout=15) as client:
                key = client.get("/api/v1/central/pubkey").json()
                assert f"{central.group(1)}/central/pubkey" in text and client.get("/central/pubkey").status_code == 200
                auth = {"Authorization": f"Bearer {token.group(1)}"}

                def synced(auth: dict[str, str] = auth) -> list[dict[str, object]] | None:  # pushed by itself
                    edges = client.get("/api/v1/edges", headers=auth).json()
                    mine = [e for e in edges if e["edge_id"] == "qinglian-cun"]  # beside the demo's other villages
                    return mine if mine and mine[0]["entries"] > 0 else None

                (edge,) = wait_until("the village's first sync", synced, every=0.5)
                assert edge["edge_id"] == "qinglian-cun" and edge["village"] == "青莲村" and not edge["flagged"]
            seen.append((key["public_key"], token.group(1)))
        finally:
            stop_demo(proc, log)
    assert seen[0] == seen[1]  # the same decision key and token on the second run: the village's pin still holds
    decisions = data / "central" / "decisions"
    assert (decisions / "ledger_key.pem").stat().st_mode & 0o077 == 0
    assert qinglian("ledger", "verify", "--data", str(decisions)).returncode == 0
