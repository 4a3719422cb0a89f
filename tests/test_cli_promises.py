"""Commands the README promises, run as a technician or an admin runs them (``python -m qinglian.cli`` in
a subprocess), each judged by what it did: a ledger entry and an open REPL, the firmware allow-list,
search results, an account that can log in again."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
from edge_support import DEVICE, TIMEOUT, ledger_rows, qinglian, qinglian_json, read_db, running_agent, wait_until, write_config
from web_support import PASSWORD

from edge.seal import projection as P
from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.kernel.websettings import WebSettings
from edge.ocr.search import SearchIndex
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim.control import SimBoard
from tools import release, releasekey



async def test_edge_maintenance_opens_the_repl_through_the_running_agent(board: SimBoard, tmp_path: Path) -> None:
    agent = await running_agent(tmp_path, board)
    config = str(tmp_path / "edge.toml")  # where running_agent wrote it
    try:
        refused = await asyncio.to_thread(qinglian, "edge", "maintenance", "--config", config, "--device", DEVICE, "--seconds", "3601")
        assert refused.returncode == 1 and "3600" in refused.stderr
        opened = await asyncio.to_thread(
            qinglian_json, "edge", "maintenance", "--config", config, "--device", DEVICE, "--seconds", "600"
        )
        assert opened == {"no": 1}
        (issued,) = await agent.ledger.entries_of_kind(P.MAINTENANCE_ISSUED)
        assert (issued.body["device_id"], issued.body["no"], issued.body["secs"]) == (board.device_id, 1, 600)

        async def window_open() -> list[Any]:
            return await agent.ledger.entries_of_kind(P.seal_kind("maintenance_open"))

        (event,) = await agent.recorder.wait_for(window_open, TIMEOUT)  # the device says so, and it is recorded
        assert event.body["event"]["secs"] == 600 and event.body["anomaly"] == "maintenance_open"
        state = await asyncio.to_thread(wait_until, "the REPL to take the UART", lambda: (s := board.control.state())["repl"] and s)
        assert state["lock"] == "locked"
    finally:
        await agent.close()


def test_edge_allow_release_puts_a_signed_release_on_the_allow_list(tmp_path: Path) -> None:
    key = tmp_path / "release.pem"
    releasekey.generate(key)
    config = write_config(tmp_path / "village", "socket://127.0.0.1:9")
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[firmware]\nrelease_pubkey = "{releasekey.public_path(key)}"\n')
    data_dir = load_config(config).data_dir
    built = release.build(tmp_path / "rel", releasekey.load_private(key), 1, target="source")
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "rel", forged)
    manifest = json.loads((forged / "manifest.json").read_text())
    (forged / "manifest.json").write_text(json.dumps({**manifest, "security_version": 9}))  # no longer what was signed

    refused = qinglian("edge", "allow-release", "--config", str(config), str(forged))
    assert refused.returncode == 1 and refused.stderr
    assert ledger_rows(data_dir, P.FIRMWARE_ALLOWED) == []

    allowed = qinglian_json("edge", "allow-release", "--config", str(config), str(tmp_path / "rel"))
    assert allowed["firmware_hash"] == built.firmware_hash and allowed["security_version"] == 1
    assert [r["firmware_hash"] for r in read_db(data_dir, "SELECT firmware_hash FROM releases")] == [built.firmware_hash]
    (entry,) = ledger_rows(data_dir, P.FIRMWARE_ALLOWED)
    assert entry["body"]["firmware_hash"] == built.firmware_hash


def test_ocr_search_finds_stamped_pages_by_their_text(tmp_path: Path) -> None:
    data = tmp_path / "edge"
    index = SearchIndex.for_data_dir(data)
    try:
        for sha, village, seal, day, title, flags in [
            ("a" * 64, "青山村", "official", "02", "村道修缮合同", []),
            ("b" * 64, "青山村", "contract", "03", "农田水利设施维修合同", ["amount"]),
            ("c" * 64, "绿水村", "official", "04", "村道修缮证明", []),
        ]:  # fmt: skip
            index.add(sha, village, seal, f"2026-11-{day}T09:00:00Z", f"{title}\n甲方：{village}股份经济合作社", title, flags=flags, press_no=1)
    finally:
        index.close()

    def search(*args: str) -> list[str]:
        return [hit["photo_sha256"] for hit in qinglian_json("ocr", "search", *args, "--data", str(data))]

    assert search("村道修缮") == ["c" * 64, "a" * 64]  # newest first
    assert search("村道修缮", "--village", "青山村") == ["a" * 64]
    assert search("--flag", "any") == ["b" * 64]
    assert search("合同", "--since", "2026-11-03") == ["b" * 64]
    shown = qinglian("ocr", "search", "水利", "--data", str(data), check=True).stdout
    assert "农田水利设施维修合同" in shown and "amount" in shown and "村道修缮" not in shown
    assert "无结果" in qinglian("ocr", "search", "镇政府", "--data", str(data), check=True).stdout
    missing = qinglian("ocr", "search", "合同", "--data", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "没有检索索引" in missing.stderr


async def _login(config: Path, username: str) -> httpx.Response:
    """One login at the console of the data folder, as the web server would serve it."""
    agent = await EdgeAgent.open(load_config(config))
    store = await WebStore.open(agent.config.data_dir)
    ledger = LedgerReader(agent.config.data_dir)
    try:
        app = create_app(Console(agent, store, WebSettings(enabled=True)), ledger)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as client:
            return await client.post("/api/login", json={"username": username, "password": PASSWORD})
    finally:
        await ledger.close()
        await store.close()
        await agent.close()


async def test_web_user_enable_lets_a_disabled_account_log_in_again(tmp_path: Path) -> None:
    config = write_config(tmp_path, "socket://127.0.0.1:9")

    def user(*args: str, stdin: str | None = None) -> None:
        # no agent runs meanwhile: each command is the data folder's writer for its moment
        done = qinglian("web", "user", *args, "--config", str(config), stdin=stdin)
        assert done.returncode == 0, done.stderr

    await asyncio.to_thread(user, "add", "zhangwei", "--role", "approver", "--person", "zhangwei", "--password-stdin", stdin=PASSWORD + "\n")
    await asyncio.to_thread(user, "disable", "zhangwei")
    refused = await _login(config, "zhangwei")
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "此账号已停用。"
    await asyncio.to_thread(user, "enable", "zhangwei")
    assert (await _login(config, "zhangwei")).status_code == 200
