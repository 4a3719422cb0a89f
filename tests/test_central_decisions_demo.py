"""``make demo`` starts a central store beside the edge: its address and a supervisor token in the banner, the
village syncing to it, the decision log's key published and pinned by the village, and a second run reusing both."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from edge_support import qinglian, wait_until


def _serve(data: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qinglian.cli", "demo", "--serve", "--data", str(data), "--listen", "127.0.0.1:0"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    text = wait_until("the demo's banner", lambda: (t := log.read_text(errors="replace")) and "Ctrl-C" in t and t, 90)
    return proc, text


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert code == 0, log.read_text(errors="replace")[-3000:]


def test_make_demo_runs_a_central_store_beside_the_edge(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    seen = []
    for run in range(2):
        log = tmp_path / f"demo-{run}.log"
        proc, text = _serve(data, log)
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
                    return edges if edges and edges[0]["entries"] > 0 else None

                (edge,) = wait_until("the village's first sync", synced, 60, every=0.5)
                assert edge["edge_id"] == "qinglian-cun" and edge["village"] == "青莲村" and not edge["flagged"]
            seen.append((key["public_key"], token.group(1)))
        finally:
            _stop(proc, log)
    assert seen[0] == seen[1]  # the same decision key and token on the second run: the village's pin still holds
    decisions = data / "central" / "decisions"
    assert (decisions / "ledger_key.pem").stat().st_mode & 0o077 == 0
    assert qinglian("ledger", "verify", "--data", str(decisions)).returncode == 0
