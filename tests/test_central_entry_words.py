"""The central's pages name village people as the village does, 名字(id), from the roster the central publishes to
that village's edge; a person the roster lacks, and every person of a village with no roster published, stay
their id. The API answers the entries as written, roster or not."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from central_support import (  # noqa: F401 - fixtures
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    Ledgers,
    api,
    asgi_transport,
    db_url,
    enrol,
    ledgers,
    store,
)

from central.store import CentralStore
from edge.kernel.sync import SyncClient

ROSTER = {"people": [{"id": "zhangwei", "name": "张伟", "roles": ["approver"]}]}


def _approval(kind_prefix: str, key: str, item: str, approver: str) -> tuple[str, dict[str, Any]]:
    return f"{kind_prefix}.approval", {key: item, "approver": approver, "count": 1, "needed": 2}


# 青莲村's roster names zhangwei, not wangfang; 白马村 (same township) has no roster published.
ENTRIES = {
    ("qinglian", VILLAGE): [
        _approval("seal_request", "request_id", "SR-1", "zhangwei"),  # the seal loop's: its page, not the overview
        _approval("procurement.demand", "demand_id", "D-1", "zhangwei"),
        _approval("procurement.demand", "demand_id", "D-2", "wangfang"),
    ],
    ("baima", "白马村"): [_approval("procurement.demand", "demand_id", "D-3", "zhangwei")],
}


async def _villages(store: CentralStore, ledgers: Ledgers) -> None:
    for (edge_id, village), items in ENTRIES.items():
        ledger = await ledgers.open(edge_id)
        await ledger.append_many(items)
        await enrol(store, edge_id, ledgers.root / edge_id, village=village)
        client = SyncClient(ledger, "http://central", edge_id, transport=asgi_transport(store))
        await client.sync_once()
        await client.stop()


async def _answers(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """Every API answer that shows these entries: the modules, each edge's entries and each entry's proof."""
    answers: dict[str, Any] = {"modules": (await api.get("/api/v1/modules", headers=headers)).json()}
    for edge_id, _ in ENTRIES:
        listed = (await api.get(f"/api/v1/edges/{edge_id}/entries", headers=headers)).json()
        answers[edge_id] = listed
        for e in listed:
            path = f"/api/v1/edges/{edge_id}/entries/{e['index']}/proof"
            proof = await api.get(path, headers=headers)
            assert proof.status_code == 200, proof.text
            answers[path] = proof.json()
    return answers


async def _entry_page(api: httpx.AsyncClient, headers: dict[str, str], edge_id: str, item: str) -> str:
    """The page of the one entry of ``edge_id`` about ``item`` (a request or demand id)."""
    listed = (await api.get(f"/api/v1/edges/{edge_id}/entries", headers=headers)).json()
    (index,) = [e["index"] for e in listed if item in e["body"].values()]
    page = await api.get(f"/edges/{edge_id}/entries/{index}", headers=headers)
    assert page.status_code == 200, page.text
    return page.text


async def test_pages_name_roster_people_as_the_village_does(
    ledgers: Ledgers, store: CentralStore, api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _villages(store, ledgers)
    township = {"Authorization": f"Bearer {await store.issue_token(f'township:{TOWNSHIP}', '测试')}"}
    before = await _answers(api, township)
    summaries = {r["summary"] for r in before["modules"]["modules"]["procurement"]}
    assert "approver: zhangwei, count: 1, demand_id: D-1, needed: 2" in summaries  # the body's fields as written
    assert "zhangwei 同意 D-1" in (await api.get("/", headers=township)).text  # nothing published: ids

    await store.publish(f"village:{COUNTY}/{TOWNSHIP}/{VILLAGE}", "roster", ROSTER)
    # The entry page: a roster person by name and id, one the roster lacks by id.
    assert "张伟(zhangwei) 同意 SR-1（1/2）" in await _entry_page(api, township, "qinglian", "SR-1")
    assert "张伟(zhangwei) 同意 D-1（1/2）" in await _entry_page(api, township, "qinglian", "D-1")
    wangfang = await _entry_page(api, township, "qinglian", "D-2")
    assert "wangfang 同意 D-2（1/2）" in wangfang and "(wangfang)" not in wangfang
    # Another village's roster is not this one's: 白马村 has none, its zhangwei stays an id.
    baima = await _entry_page(api, township, "baima", "D-3")
    assert "zhangwei 同意 D-3（1/2）" in baima and "张伟" not in baima

    # The overview's module records alike, the documents read once for all of them.
    reads = 0
    documents = store.config_documents

    async def counted(*args: Any) -> Any:
        nonlocal reads
        reads += 1
        return await documents(*args)

    monkeypatch.setattr(store, "config_documents", counted)
    overview = (await api.get("/", headers=township)).text
    assert reads == 1
    assert "张伟(zhangwei) 同意 D-1（1/2）" in overview and "wangfang 同意 D-2（1/2）" in overview
    assert "zhangwei 同意 D-3（1/2）" in overview and "张伟(zhangwei) 同意 D-3" not in overview

    # The API answers as before: the entries as written, no names.
    assert await _answers(api, township) == before
