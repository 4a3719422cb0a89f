"""The central store's JSON API fuzzed from its own description (/openapi.json) with Schemathesis, on PostgreSQL.

Every operation the description lists is called with generated input, valid and not, by a supervisor whose
token covers every village (so the views run past the token check), against ``qinglian central run`` on
PostgreSQL, the database a county runs, which refuses more than SQLite does (a NUL in text, an integer past
64 bits). Whatever comes in, the store answers without a server error (no 5xx), with a status code the
description lists, and with a body that fits it: for errors, the store's envelope (``accepted``, ``code``,
``reason``, ``flagged``). The sync operations are called unsigned, so they answer with refusals only.

A short run by default (every operation, ``QINGLIAN_FUZZ_EXAMPLES`` generated calls each); set it higher for
a long one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from central_support import CentralProcess, PostgresServer, asgi_transport, enrol  # noqa: F401 - fixtures
from fastapi.routing import APIRoute
from fuzz_support import fuzz, operations, report

from central.app import create_app
from central.store import CentralStore
from edge.kernel.sync import SyncClient
from edge.ledger import Ledger

EDGE = "qinglian"


async def _seed(db: str, root: Path) -> str:
    """One village's ledger synced (seal uses, a flag, a module record) and an ``all`` supervisor token."""
    store = await CentralStore.open(db)
    ledger = await Ledger.open(root / EDGE)
    try:
        items = [("seal.press", {"event": {"k": "press"}, "n": i}) for i in range(12)]
        items += [("seal.tamper", {"anomaly": "tamper_open"}), ("procurement.demand", {"title": "路灯", "fen": 500000})]
        await ledger.append_many(items)
        await enrol(store, EDGE, root / EDGE)
        client = SyncClient(ledger, "http://central", EDGE, transport=asgi_transport(store))
        await client.sync_once()
        await client.stop()
        return await store.issue_token("all", "模糊测试")
    finally:
        await ledger.close()
        await store.close()


@pytest.fixture(scope="module")
def central(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """``qinglian central run`` on a fresh PostgreSQL database holding one village; its URL and a token."""
    root = tmp_path_factory.mktemp("central-fuzz")
    server: PostgresServer = request.getfixturevalue("pg_server")
    db = server.create_database()
    token = asyncio.run(_seed(db, root))
    log = root / "central.log"
    with CentralProcess(db, log=log) as process:
        yield process.url, token
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text[-4000:]  # nothing the fuzzer sent made the store fail inside


@contextmanager
def supervisor(token: str) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.headers["Authorization"] = f"Bearer {token}"
        yield s


def test_every_operation_answers_as_described(central: tuple[str, str]) -> None:
    url, token = central
    ops = operations(url)
    # Every JSON route the app has (the sync API, the supervisors', each part's) is described, so fuzzed: one left
    # out of the description (include_in_schema=False) would go unfuzzed. The app is built, never started.
    app = create_app(db_url="postgresql://unused/unused")
    api = {(m, r.path) for r in app.routes if isinstance(r, APIRoute) and r.path.startswith("/api/") for m in r.methods}
    described = {(op.method.upper(), op.path) for op in ops}
    assert len(api) >= 14 and api <= described, sorted(api - described)
    failures = fuzz(url, ops, lambda: supervisor(token))
    assert not failures, report(failures)


BIG = str(2**63)  # one past PostgreSQL's bigint

# Each a 500 on PostgreSQL before the parameters were checked at the boundary (or, the last ones, an answer
# outside the envelope); now a 400 in the envelope that says, in Chinese, what to change.
REFUSED = [
    ("/api/v1/search", {"q": "路灯\x00"}, "q 不得含控制字符"),
    ("/api/v1/search", {"q": "路灯", "village": "青莲\x00"}, "village 不得含控制字符"),
    ("/api/v1/edges/qinglian/entries", {"kind": "seal.press\x00"}, "kind 不得含控制字符"),
    ("/api/v1/edges/qinglian/entries", {"before": BIG}, f"before 应不大于 {2**63 - 1}"),
    ("/api/v1/edges/qinglian/entries", {"before": str(-(2**63) - 1)}, "before 应不小于 0"),
    ("/api/v1/edges/qinglian/entries", {"to": "0001-01-01"}, "结束日期太早"),
    ("/api/v1/stats", {"to": "0001-01-01"}, "结束日期太早"),
    ("/api/v1/modules", {"to": "0001-01-02"}, "结束日期太早"),
    ("/api/v1/edges/qinglian/entries/1/proof", {"tree_size": BIG}, f"tree_size 应不大于 {2**63 - 1}"),
    ("/api/v1/edges/qinglian/entries/" + BIG + "/proof", {}, f"index 应不大于 {2**63 - 1}"),
    ("/api/v1/edges/%00", {}, "edge_id 边缘编号只含字母"),
    ("/api/v1/edges/%00/entries", {}, "edge_id 边缘编号只含字母"),
    ("/api/v1/edges/qinglian/entries", {"limit": "0"}, "limit 应不小于 1"),
    ("/api/v1/search", {"limit": str(10**30)}, "limit 应不大于 200"),
    ("/api/v1/edges/qinglian/entries", {"flagged": "也许"}, "flagged 应为 true 或 false"),
    ("/api/v1/stats", {"group": "year"}, "group 应为 'month' 或 'day'"),
    ("/api/v1/stats", {"from": "2026-13-01"}, "日期格式应为 年-月-日，如 2026-01-31"),
]


@pytest.mark.parametrize(("path", "params", "reason"), REFUSED, ids=[f"{p}?{q}" for p, q, _ in REFUSED])
def test_a_parameter_out_of_bounds_is_refused_with_a_reason(
    central: tuple[str, str], path: str, params: dict[str, str], reason: str
) -> None:
    url, token = central
    with supervisor(token) as s:
        r = s.get(url + path, params=params, timeout=30)
    body = r.json()
    assert (r.status_code, body["accepted"], body["code"], body["flagged"]) == (400, False, "malformed", False), r.text
    assert reason in body["reason"], body["reason"]


def test_what_the_framework_refuses_is_in_the_envelope_too(central: tuple[str, str]) -> None:
    url, token = central
    with supervisor(token) as s:
        broken = s.post(f"{url}/api/v1/proofs/verify", data="{not json", headers={"Content-Type": "application/json"})
        missing = s.post(f"{url}/api/v1/proofs/verify", json={"index": 1})
        nowhere = s.get(f"{url}/api/v1/nowhere")
    assert broken.status_code == 400 and "不是有效的 JSON" in broken.json()["reason"], broken.text
    assert missing.status_code == 400 and "tree_size 缺少此项" in missing.json()["reason"], missing.text
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "http_404", nowhere.text


PAGES = [
    ("/search", {"q": "路灯\x00"}, "q 不得含控制字符"),
    ("/edges/qinglian", {"before": BIG}, "before 应不大于"),
    ("/", {"to": "0001-01-01"}, "结束日期太早"),
]


@pytest.mark.parametrize(("path", "params", "reason"), PAGES, ids=[p for p, _, _ in PAGES])
def test_pages_refuse_the_same_with_an_error_page(
    central: tuple[str, str], path: str, params: dict[str, str], reason: str
) -> None:
    url, token = central
    r = requests.get(url + path, params=params, cookies={"qinglian_supervisor": token}, timeout=30)
    assert r.status_code == 400 and "text/html" in r.headers["content-type"] and reason in r.text, r.text


def test_the_search_form_sends_empty_dates_for_the_default_period(central: tuple[str, str]) -> None:
    url, token = central
    form = {"q": "路灯", "village": "", "flag": "", "from": "", "to": ""}
    r = requests.get(f"{url}/search", params=form, cookies={"qinglian_supervisor": token}, timeout=30)
    assert r.status_code == 200 and "路灯" in r.text, r.text
