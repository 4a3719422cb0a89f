"""A village's clues at the central, over the real sync: the township discipline officer sees every clue of the
villages in scope with its state, deadlines, overdue flag and escalation, downloads its sealed envelopes, and opens
them on their own machine with the key pair made by ``qinglian whistleblower township-key``; the central holds no
clue's content in the clear and another township's officer sees nothing. SQLite and PostgreSQL."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import sys
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from central_support import TOWNSHIP, VILLAGE, db_url, enrol, store  # noqa: F401 - fixtures
from edge_support import config_for
from sqlalchemy import select
from whistleblower_support import PARTS, Clock, set_up_station

from central.app import create_app
from central.modules.whistleblower import CENTRAL_WHISTLEBLOWER
from central.modules.whistleblower.tables import clues, sealed
from central.store import CentralStore
from edge.agent import EdgeAgent
from edge.kernel.config import CentralSettings
from edge.kernel.sync import SyncClient
from edge.modules.whistleblower import WHISTLEBLOWER
from edge.modules.whistleblower.settings import Settings

EDGE = "qinglian-cun"
KEY_PASSPHRASE = "hes-township-officer-2026"
SECRET = "村支书在宅基地审批中向村民索要两条香烟"


def cli(argv: list[str], stdin: str = "") -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="qinglian")
    assert WHISTLEBLOWER.cli is not None
    WHISTLEBLOWER.cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    out = io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out):
            code = args.func(args)
    finally:
        sys.stdin = saved
    return code, out.getvalue()


@dataclasses.dataclass
class Site:
    store: CentralStore
    app: Any
    agent: EdgeAgent
    client: SyncClient
    key_file: Path

    async def get(self, path: str, scope: str = f"township:{TOWNSHIP}") -> httpx.Response:
        token = await self.store.issue_token(scope, "乡镇纪委")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://central") as api:
            return await api.get(path, headers={"Authorization": f"Bearer {token}"})


@pytest_asyncio.fixture
async def site(store: CentralStore, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    app = create_app(store, parts=(CENTRAL_WHISTLEBLOWER,))
    key_file = tmp_path / "officer" / "township-key.pem"
    key_file.parent.mkdir()
    code, out = cli(["whistleblower", "township-key", "--out", str(key_file), "--json"], KEY_PASSPHRASE + "\n")
    assert code == 0
    public = json.loads(out)["public_key"]
    config = config_for(tmp_path / "village", "socket://127.0.0.1:9")
    config = dataclasses.replace(
        config,
        central=CentralSettings("http://central", EDGE),
        sections={"whistleblower": Settings(township_public_key=public)},
    )
    agent = await EdgeAgent.open(config, clock=Clock(), parts=PARTS)
    await enrol(store, EDGE, agent.config.data_dir)
    client = SyncClient(agent.ledger, "http://central", EDGE, transport=httpx.ASGITransport(app=app))
    try:
        yield Site(store, app, agent, client, key_file)
    finally:
        await client.stop()
        await agent.close()


async def test_the_township_officer_sees_and_opens_the_villages_clues(site: Site, tmp_path: Path) -> None:
    desk = await set_up_station(site.agent)
    clock = site.agent.desk.clock
    filed = await desk.file_clue("public", SECRET, clock(), {"name": "王大伯", "phone": ""})
    later = await desk.file_clue("team", "村务公开栏三个月没有更新", clock(), by="zhengli")
    await desk.acknowledge(later.id, "zhoujian", clock())
    await desk.escalate(filed.id, "wuxia", clock())
    await desk.review_meeting("zhoujian", date(2026, 3, 5), ["zhoujian"], [later.id], "研判", clock())
    site.agent.desk.clock.advance(days=8)  # type: ignore[attr-defined]
    await WHISTLEBLOWER.tick(site.agent)  # type: ignore[misc]
    await site.client.sync_once()

    page = await site.get("/m/whistleblower")
    assert page.status_code == 200 and SECRET not in page.text and "王大伯" not in page.text
    assert f'<tr id="clue-{filed.id}"><td>{VILLAGE}</td><td>{filed.id}</td><td>已收到</td>' in page.text
    assert (
        "直报乡镇" in page.text and "确认收到逾期" in page.text and f"<td>{later.id}</td><td>已研判</td>" in page.text
    )
    elsewhere = await site.get("/m/whistleblower", scope="township:义桥镇")
    assert filed.id not in elsewhere.text
    assert (await site.get(f"/m/whistleblower/{EDGE}/{filed.id}.json", scope="township:义桥镇")).status_code == 404

    # Nothing at the central reads in the clear: the stored rows hold states and ciphertext.
    async with site.store.db.reader.connect() as conn:
        stored = [dict(r._mapping) for t in (clues, sealed) for r in await conn.execute(select(t))]
    assert SECRET not in json.dumps(stored, ensure_ascii=False) and "王大伯" not in json.dumps(
        stored, ensure_ascii=False
    )

    bundle = await site.get(f"/m/whistleblower/{EDGE}/{filed.id}.json")
    assert bundle.status_code == 200
    saved = tmp_path / "officer" / f"{filed.id}.json"
    saved.write_bytes(bundle.content)
    code, out = cli(
        ["whistleblower", "open", "--key", str(site.key_file), "--file", str(saved), "--json"], KEY_PASSPHRASE + "\n"
    )
    assert code == 0
    opened = json.loads(out)
    assert (
        opened["village"] == VILLAGE
        and opened["items"][0]["text"] == SECRET
        and opened["items"][0]["reporter"]["name"] == "王大伯"
    )
    assert "reporter_key" not in opened["items"][0]
    code, _ = cli(["whistleblower", "open", "--key", str(site.key_file), "--file", str(saved)], "wrong-passphrase\n")
    assert code == 1


@pytest.mark.parametrize("passphrase", ["short"])
def test_a_township_key_needs_a_real_passphrase(tmp_path: Path, passphrase: str) -> None:
    code, _ = cli(["whistleblower", "township-key", "--out", str(tmp_path / "k.pem")], passphrase + "\n")
    assert code == 2 and not (tmp_path / "k.pem").exists()
