"""The projection goes through the registered parts: an entry under a part's prefix whose kind that part does
not declare is refused as an anomaly (recorded, shown on the console's ledger page), never skipped silently."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from edge_support import writer  # noqa: F401  (a fixture)
from web_support import Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.contract import Part
from edge.kernel.db import WorkingDB
from edge.kernel.projection import UNDECLARED, _reason, apply_entries
from edge.kernel.websettings import WebSettings
from edge.ledger import Entry
from edge.modules import PARTS
from edge.seal.projection import seal_kind
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore


async def _record(agent: EdgeAgent, kind: str, body: dict[str, object]) -> Entry:
    async with agent.recorder.step():
        return await agent.recorder.record(kind, body)


async def test_an_undeclared_kind_of_a_registered_part_is_an_anomaly_and_the_next_entry_follows(writer: EdgeAgent) -> None:
    device = (await writer.db.devices())[0]
    teleport = await _record(writer, seal_kind("teleport"), {"device_id": device.device_id, "event_id": 99, "event": {"id": 99, "k": "teleport"}})
    bogus = await _record(writer, "grant.bogus", {"device_id": device.device_id, "no": 1})
    foreign = await _record(writer, "nobody.knows", {"x": 1})  # no part owns the prefix: changes no table
    press = await _record(writer, seal_kind("boot"), {"device_id": device.device_id, "event_id": 100, "event": {"id": 100, "k": "boot", "boots": 7}})
    anomalies = {a["entry"]: a for a in await writer.db.projection_anomalies()}
    assert set(anomalies) == {teleport.index, bogus.index}
    for entry in (teleport, bogus):
        assert anomalies[entry.index]["kind"] == entry.kind and anomalies[entry.index]["reason"].startswith(UNDECLARED)
        assert "智慧印章" in anomalies[entry.index]["reason"]
    assert foreign.index not in anomalies
    # Nothing of the refused event was applied (its event id), the declared one after it was.
    after = await writer.db.device(device.device_id)
    assert after is not None and after.last_event_id == 100 and after.boots == 7
    assert await writer.db.applied_upto() == press.index


async def test_the_anomaly_is_on_the_console_ledger_page(writer: EdgeAgent) -> None:
    refused = await _record(writer, "seal_request.teleported", {"request_id": "SR-000099"})
    store = await WebStore.open(writer.config.data_dir)
    reader = LedgerReader(writer.config.data_dir)
    await seed_account(store, writer, "jiandu", ["supervisor"], None, ["*"])
    app = create_app(Console(writer, store, WebSettings(enabled=True)), reader)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as client:
        api = Api(client)
        assert (await api.login("jiandu")).status_code == 200
        page = (await client.get("/ledger")).text
    await reader.close()
    await store.close()
    assert f"#{refused.index}" in page and UNDECLARED in page


async def test_a_database_opened_without_the_parts_applies_nothing(tmp_path: Path) -> None:
    db = await WorkingDB.open(tmp_path)
    try:
        entry = Entry(0, "2026-01-01T00:00:00.000000Z", "seal_request.filed", {}, bytes(32), bytes(32))
        with pytest.raises(RuntimeError):
            await apply_entries(db, [entry])  # else every entry would count as applied, with no effect
        assert await db.applied_upto() == -1
    finally:
        await db.close()


def test_parts_own_disjoint_prefixes_and_declare_what_they_apply() -> None:
    from edge.kernel.parts import Parts

    with pytest.raises(ValueError):
        Part("x", "例", {"y.kind": "错"})  # a kind outside its prefixes
    with pytest.raises(ValueError):
        Parts([*PARTS, Part("grant", "重复", {})])  # the seal owns grant.*
    seal = PARTS[0]
    assert seal.name == "seal" and set(seal.projection) <= set(seal.kinds)


def test_why_an_entry_was_not_applied_is_the_parts_own_words_where_it_gave_them() -> None:
    # a handler's refusal, in Chinese, as the ledger page's 异常 line shows it (not "条目缺少字段 '…不在…'")
    assert _reason(KeyError("SP-0001 不在待审批状态")) == "SP-0001 不在待审批状态"
    assert _reason(ValueError("当日最低余额高于日终余额")) == "当日最低余额高于日终余额"
    # a body without a field, or a fault no handler explained: the kernel says what kind of problem it is, in
    # Chinese only (the page's language); the exception's English goes to the log
    assert _reason(KeyError("request_id")) == "条目缺少必需的字段"
    assert _reason(ValueError("invalid literal")) == "条目内容格式错误"
    assert _reason(OverflowError("Python int too large to convert to SQLite INTEGER")) == "数值超出 64 位整数范围"
