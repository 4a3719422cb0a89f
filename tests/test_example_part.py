"""A part registers through the contract alone: tests/example_part adds a ledger kind, a page with its tab,
a CLI command, an export, an item in the cross-part 待审批 inbox and a list on the notice board, and no
kernel, seal or shell file names it. The agent is opened with ``(*PARTS, EXAMPLE)``; the console follows."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import DEVICE, config_for
from example_part import APPROVAL, DECIDED, EXAMPLE, FILED, REFUSED
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.websettings import WebSettings
from edge.modules import PARTS
from edge.seal.keystore import DeviceIdentity
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash

PHONE = "13812345678"


@pytest.fixture
async def site(tmp_path: Path) -> Any:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    agent = await EdgeAgent.open(config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id), parts=(*PARTS, EXAMPLE))
    await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person, villages in (("zhangwei", ["approver"], "zhangwei", None), ("jiandu", ["supervisor"], None, ["*"])):
        await seed_account(store, agent, username, roles, person, villages)
    ledger = LedgerReader(agent.config.data_dir)
    transport = httpx.ASGITransport(app=create_app(Console(agent, store, WebSettings(enabled=True)), ledger))
    clients = [httpx.AsyncClient(transport=transport, base_url="http://console.test") for _ in range(3)]
    yield agent, clients
    for c in clients:
        await c.aclose()
    await ledger.close()
    await store.close()
    await agent.close()


async def test_a_part_registered_through_the_contract_alone(site: Any) -> None:
    agent, (zhangwei_client, jiandu_client, visitor) = site
    async with agent.recorder.step():
        await agent.recorder.record(FILED, {"id": "EX-1", "title": "修缮村道护栏", "approver": "zhangwei", "phone": PHONE})
        await agent.recorder.record(FILED, {"id": "EX-2", "title": "采购路灯", "approver": "chenjing", "phone": PHONE})
    zhangwei, jiandu = Api(zhangwei_client), Api(jiandu_client)
    await zhangwei.login("zhangwei")
    await jiandu.login("jiandu")

    # A ledger kind: on the ledger page and in /api/ledger with its Chinese name.
    entries = (await jiandu.client.get("/api/ledger", params={"kind": FILED})).json()["entries"]
    assert [(e["kind_name"], e["body"]["id"]) for e in entries] == [("示例事项提交", "EX-2"), ("示例事项提交", "EX-1")]

    # A routed approval: in the one 待审批 inbox, beside the seal's items, for its approver only.
    inbox = (await zhangwei.client.get("/api/inbox")).json()
    assert [(i["part"], i["id"], i["your_turn"], i["request"]) for i in inbox] == [("example", "EX-1", True, None)]
    page = await zhangwei.client.get("/inbox")
    assert 'href="/example#EX-1"' in page.text and "修缮村道护栏" in page.text and "采购路灯" not in page.text

    # A page with its tab (shown by role), its template found beside the part, decided there.
    page = await zhangwei.client.get("/example")
    assert page.status_code == 200 and 'href="/example" class="on">示例</a>' in page.text and 'id="approve-EX-1"' in page.text
    assert 'href="/example"' not in (await visitor.get("/login")).text
    refused = await zhangwei.post("/example/EX-2/approve")  # not on its route: the routing desk refuses, on record
    assert refused.status_code == 409 and "不在此申请的审批路线上" in refused.text
    decided = await zhangwei.client.post("/example/EX-1/approve", data={"csrf_token": zhangwei.csrf})
    assert decided.status_code == 303
    decisions = (await jiandu.client.get("/api/ledger", params={"kind": "example.*"})).json()["entries"]
    assert [(e["kind"], e["body"]["id"]) for e in decisions][:3] == [(DECIDED, "EX-1"), (APPROVAL, "EX-1"), (REFUSED, "EX-2")]
    assert (await zhangwei.client.get("/api/inbox")).json() == []

    # An export: CSV (BOM) and XLSX through the shell's one export helper, for logged-in staff only.
    assert (await visitor.get("/exports/example/items.csv")).status_code == 303  # to the login
    exported = await jiandu.client.get("/exports/example/items.csv")
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows == [["编号", "事项", "状态"], ["EX-1", "修缮村道护栏", "已同意"], ["EX-2", "采购路灯", "待审批"]]
    assert (await jiandu.client.get("/exports/example/items.xlsx")).content.startswith(b"PK")

    # A published list: on the notice board, with no login, the phone number masked.
    board = await visitor.get("/board")
    assert "示例公示" in board.text and "修缮村道护栏" in board.text and "采购路灯" not in board.text
    assert PHONE not in board.text
    assert PHONE not in (await visitor.get("/board/example/1.csv")).text


async def test_its_cli_command(site: Any) -> None:
    agent, _ = site
    async with agent.recorder.step():
        await agent.recorder.record(FILED, {"id": "EX-9", "title": "清理水渠", "approver": "zhangwei", "phone": PHONE})
    parser = argparse.ArgumentParser(prog="qinglian")
    assert EXAMPLE.cli is not None
    EXAMPLE.cli(parser.add_subparsers(dest="command", required=True))
    config = agent.config.data_dir.parent / "edge.toml"
    args = parser.parse_args(["example", "count", "--config", str(config), "--json"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert await asyncio.to_thread(args.func, args) == 0
    assert json.loads(out.getvalue()) == {"pending": 1}
