"""Hostile numbers (issue 12, "Critical"): every amount, count and cursor is checked where it comes in, and
no entry in the ledger can stop the agent from applying the rest or from starting.

The amounts go in through the three doors a person uses: the web form, the JSON API and ``qinglian request
file``. The poisoned ledger is written the way the agent writes (``Ledger.open`` on its data folder signs with
its key), then the agent is started on it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import DEVICE, document, ledger_rows, qinglian, read_db, start_edge, wait_until, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.kernel.contract import Part
from edge.kernel.errors import ConfigError, InputError
from edge.kernel.fmt import DEFAULT_MAX_AMOUNT_FEN, AmountError, parse_yuan, yuan
from edge.kernel.projection import apply_entries
from edge.kernel.websettings import WebSettings
from edge.ledger import Entry, Ledger, verify_ledger
from edge.seal import projection as P
from edge.seal.db import EdgeDB
from edge.seal.keystore import DeviceIdentity
from edge.web.accounts import check_account, create_account
from edge.web.app import create_app
from edge.web.demo import sample_pdf
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import flash
from qinglian.cli import main as qinglian_main

PASSWORD = "Lotus-pond-2026"
CEILING_YUAN = "100000000.00"  # the default ceiling: 1 亿元
OVER_CEILING_YUAN = "100000000.01"
HOSTILE_AMOUNTS = [
    "1e20", "Infinity", "-Infinity", "NaN", "sNaN", "1e999999999", "99999999999999999999999", "-1", "-0.01", "0",
    "0.00", "0.001", "1.234", "12,34", "1_000", "０.５", "0x10", "1e2", " ", "9" * 5000,
]  # fmt: skip
BLANK_AMOUNTS = {" "}  # a blank amount is no amount: the request states none, which is allowed


# -- a data folder with an enrolled board, the way `qinglian edge enrol` leaves it -----------------------


async def _enrolled(tmp_path: Path, extra: str = "") -> EdgeAgent:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    path = write_config(tmp_path, "socket://127.0.0.1:9", ident.device_id)
    with path.open("a", encoding="utf-8") as f:
        f.write(extra)
    agent = await EdgeAgent.open(load_config(path))
    await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    return agent


@dataclass
class Web:
    agent: EdgeAgent
    client: httpx.AsyncClient
    csrf: str = ""

    async def login(self, username: str) -> None:
        r = await self.client.post("/api/login", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.csrf = r.json()["csrf_token"]

    async def api_file(self, amount: str) -> httpx.Response:
        return await self.client.post(
            "/api/requests", headers={"X-CSRF-Token": self.csrf},
            data={"matter": "村道修缮", "seal": "official", "presses": "1", "amount": amount},
            files={"document": ("doc.pdf", sample_pdf("t", ["village road"]), "application/pdf")},
        )  # fmt: skip

    async def form_file(self, amount: str) -> httpx.Response:
        return await self.client.post(
            "/requests/new", headers={"X-CSRF-Token": self.csrf},
            data={"matter": "村道修缮", "seal": "official", "presses": "1", "amount": amount},
            files={"document": ("doc.pdf", sample_pdf("t", ["village road"]), "application/pdf")},
        )  # fmt: skip


async def _console(agent: EdgeAgent) -> tuple[Console, WebStore, LedgerReader]:
    store = await WebStore.open(agent.config.data_dir)
    for username, roles, person, villages in (
        ("liming", ["applicant"], "liming", None), ("jiandu", ["supervisor", "admin"], None, ["*"]),
    ):  # fmt: skip
        new = check_account(agent.config, username, None, roles, person, villages)
        await create_account(store, agent.config, new, PASSWORD, "admin", agent.record_account, own_password=True)
    return Console(agent, store, WebSettings(enabled=True)), store, LedgerReader(agent.config.data_dir)


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    agent = await _enrolled(tmp_path)
    console, store, ledger = await _console(agent)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(console, ledger)), base_url="http://console.test")
    try:
        yield Web(agent, client)
    finally:
        await client.aclose()
        await ledger.close()
        await store.close()
        await agent.close()


# -- the money module -------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.integers(1, DEFAULT_MAX_AMOUNT_FEN))
def test_every_amount_reads_back_as_it_is_shown(fen: int) -> None:
    assert parse_yuan(yuan(fen), DEFAULT_MAX_AMOUNT_FEN) == fen
    assert parse_yuan(yuan(fen).removeprefix("¥").replace(",", ""), DEFAULT_MAX_AMOUNT_FEN) == fen


@settings(deadline=None)
@given(st.one_of(st.text(max_size=60), st.from_regex(r"[-+¥]?[0-9,._eE]{0,30}(元)?", fullmatch=True)))
def test_any_text_is_an_amount_within_bounds_or_a_clear_refusal(text: str) -> None:
    try:
        fen = parse_yuan(text, DEFAULT_MAX_AMOUNT_FEN)
    except AmountError as exc:
        assert "金额" in exc.message
    else:
        assert type(fen) is int and 1 <= fen <= DEFAULT_MAX_AMOUNT_FEN


# -- amounts through the web form and the JSON API ------------------------------------------------------


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
async def test_a_hostile_amount_is_refused_by_the_api_and_the_form_with_nothing_recorded(web: Web, amount: str) -> None:
    await web.login("liming")
    before = await web.agent.ledger.size()
    api = await web.api_file(amount)
    form = await web.form_file(amount)
    if amount in BLANK_AMOUNTS:
        assert api.status_code == 201 and api.json()["amount_fen"] == 0
        return
    assert api.status_code == 400, (amount, api.text[:300])
    error = api.json()["error"]
    assert error["code"] == "bad_amount" and "金额" in error["message"] and error["type"] == "InputError"
    assert form.status_code == 400 and "金额" in form.text and 'name="amount"' in form.text  # the form again, with why
    assert await web.agent.ledger.size() == before  # nothing recorded
    assert (await web.client.get("/api/requests")).status_code == 200  # and the console still answers


async def test_amount_boundaries_through_the_api_and_the_form(web: Web) -> None:
    await web.login("liming")
    smallest = await web.api_file("0.01")
    assert smallest.status_code == 201 and smallest.json()["amount_fen"] == 1
    written = await web.api_file("¥1,200.50")
    assert written.status_code == 201 and written.json()["amount_fen"] == 120050
    ceiling = await web.api_file(CEILING_YUAN)
    assert ceiling.status_code == 201 and ceiling.json()["amount_fen"] == 10_000_000_000
    over = await web.api_file(OVER_CEILING_YUAN)
    assert over.status_code == 400 and "¥100,000,000.00" in over.json()["error"]["message"]
    page = await web.form_file(CEILING_YUAN)
    assert page.status_code == 303  # filed, on to the request's page
    refused = await web.form_file(OVER_CEILING_YUAN)
    assert refused.status_code == 400 and "金额不能超过" in refused.text
    amounts = [r["amount_fen"] for r in read_db(web.agent.config.data_dir, "SELECT amount_fen FROM requests ORDER BY seq")]
    assert amounts == [1, 120050, 10_000_000_000, 10_000_000_000]


async def test_ledger_cursors_and_page_sizes_outside_64_bits_get_a_clear_error(web: Web) -> None:
    await web.login("jiandu")
    for before in ("9223372036854775808", "-1", "1e20", "99999999999999999999999"):
        r = await web.client.get("/api/ledger", params={"before": before})
        assert r.status_code == 422, (before, r.text[:200])
        assert r.json()["ok"] is False and r.json()["error"]["code"] == "bad_input"
        page = await web.client.get("/ledger", params={"before": before})
        assert page.status_code == 400 and "输入有误" in page.text
    too_far = (await web.client.get("/api/ledger", params={"before": "9223372036854775808"})).json()["error"]["message"]
    assert too_far == "请求格式错误：query.before 应不大于 9223372036854775807"
    page = await web.client.get("/ledger", params={"before": "9223372036854775808"})  # a page: no field's program name
    assert "请求格式错误：1 项不符合要求（应不大于 9223372036854775807）。请返回上一页检查后重试。" in page.text
    assert "query.before" not in page.text
    top = await web.client.get("/api/ledger", params={"before": "9223372036854775807"})
    assert top.status_code == 200 and top.json()["entries"]
    assert (await web.client.get("/api/ledger", params={"limit": "99999999999999999999"})).status_code == 422


async def test_malformed_bodies_and_unknown_paths_answer_in_the_error_envelope(web: Web) -> None:
    bad_json = await web.client.post("/api/login", content=b'{"username": ', headers={"content-type": "application/json"})
    assert bad_json.status_code == 422
    assert bad_json.json() == {"ok": False, "error": {"code": "bad_json", "message": "请求内容不是有效的 JSON。", "type": "InputError"}}
    wrong_shape = await web.client.post("/api/login", json=["liming"])
    assert wrong_shape.status_code == 422 and wrong_shape.json()["error"]["code"] == "bad_input"
    for method, path, status in (("GET", "/api/nothing", 404), ("PUT", "/api/requests", 405), ("DELETE", "/api/me", 405)):
        r = await web.client.request(method, path)
        assert r.status_code == status and "detail" not in r.json(), r.text
        assert r.json()["ok"] is False and r.json()["error"]["code"] == f"http_{status}"
    await web.login("jiandu")
    unreadable = await web.client.post("/account/password", content=b"x", headers={"content-type": "multipart/form-data"})
    assert unreadable.status_code == 400 and "请求无法处理（错误 400）。请返回上一页重试。" in unreadable.text
    assert "boundary" not in unreadable.text.lower()  # the framework's English (Missing boundary ...) stays in the log
    spec = (await web.client.get("/openapi.json")).json()
    described = spec["paths"]["/api/login"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert described == {"$ref": "#/components/schemas/ErrorEnvelope"}  # what the API says is what it sends
    assert "HTTPValidationError" not in spec.get("components", {}).get("schemas", {})


# -- amounts and counts through the CLI -----------------------------------------------------------------


@pytest.fixture
def cli_folder(tmp_path: Path) -> Iterator[Path]:
    """A config whose board is enrolled and no agent runs: `qinglian request file` is the writer for a moment."""

    async def enrol() -> Path:
        agent = await _enrolled(tmp_path)
        await agent.close()
        return agent.config.path

    yield asyncio.run(enrol())


def _cli_file(config: Path, *extra: str) -> list[str]:
    doc = document(config.parent / "docs")
    return ["request", "file", "--config", str(config), "--as", "liming", "--matter", "村道修缮", "--seal", "official",
            "--document", str(doc), *extra]  # fmt: skip


@pytest.mark.parametrize("amount", [a for a in HOSTILE_AMOUNTS if a not in BLANK_AMOUNTS])
def test_the_cli_refuses_a_hostile_amount_with_a_clear_message(cli_folder: Path, amount: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert qinglian_main(_cli_file(cli_folder, "--presses", "1", f"--amount={amount}")) == 1
    err = capsys.readouterr().err
    assert "[bad_amount]" in err and "金额" in err
    assert [r for r in ledger_rows(load_config(cli_folder).data_dir) if r["kind"] == P.FILED] == []


def test_the_cli_takes_the_ceiling_and_refuses_one_fen_more(cli_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert qinglian_main(_cli_file(cli_folder, "--presses", "1", "--amount", OVER_CEILING_YUAN)) == 1
    assert "金额不能超过 ¥100,000,000.00" in capsys.readouterr().err
    for fen in ("10000000001", "99999999999999999999999"):
        assert qinglian_main(_cli_file(cli_folder, "--presses", "1", "--amount-fen", fen)) == 1
        assert "金额不能超过" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # not a whole number at all: a usage error, in Chinese too
        qinglian_main(_cli_file(cli_folder, "--presses", "1", "--amount-fen", "1e20"))
    assert usage.value.code == 2 and "应为整数" in capsys.readouterr().err
    for presses in ("0", "101", "9223372036854775808", "99999999999999999999999"):
        assert qinglian_main(_cli_file(cli_folder, "--presses", presses)) == 1
        assert "[bad_presses]" in capsys.readouterr().err
    # The real console script, as a person runs it: the ceiling itself is taken, to the fen.
    done = qinglian(*_cli_file(cli_folder, "--presses", "1", "--amount", CEILING_YUAN, "--json"))
    assert done.returncode == 0, done.stderr
    hostile = qinglian(*_cli_file(cli_folder, "--presses", "1", "--amount", "1e20"))
    assert hostile.returncode == 1 and "金额格式错误" in hostile.stderr
    filed = [r["body"]["amount_fen"] for r in ledger_rows(load_config(cli_folder).data_dir) if r["kind"] == P.FILED]
    assert filed == [10_000_000_000]


def test_ledger_indices_and_counts_on_the_command_line_stay_within_64_bits(cli_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(load_config(cli_folder).data_dir)
    for args in (["show", "--limit", "9223372036854775808"], ["show", "--limit", "1e5"], ["proof", "--index", "-1"]):
        with pytest.raises(SystemExit) as usage:
            qinglian_main(["ledger", *args, "--data", data])
        err = capsys.readouterr().err
        assert usage.value.code == 2 and ("必须在 0..9223372036854775807 之间" in err or "应为整数" in err), err
    assert qinglian_main(["ledger", "show", "--limit", "9223372036854775807", "--data", data]) == 0


def test_the_ceiling_is_configured_in_the_money_section(tmp_path: Path) -> None:
    path = write_config(tmp_path, "socket://127.0.0.1:9")
    assert load_config(path).money.max_amount_fen == 10_000_000_000  # 1 亿元 when the file says nothing
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "\n[money]\nmax_amount_fen = 500000000\n", encoding="utf-8")
    assert load_config(path).money.max_amount_fen == 500_000_000
    for bad in ("0", "9223372036854775808", '"1e20"', "1.5"):
        path.write_text(text + f"\n[money]\nmax_amount_fen = {bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(path)
        assert "max_amount_fen" in caught.value.message


async def test_a_configured_ceiling_holds_for_every_caller(tmp_path: Path) -> None:
    agent = await _enrolled(tmp_path, "\n[money]\nmax_amount_fen = 500000000\n")  # 5,000,000 元
    try:
        doc = document(tmp_path / "docs")
        assert (await agent.file_request("liming", "大额合同", "official", 1, doc, 500_000_000)).amount_fen == 500_000_000
        with pytest.raises(InputError) as caught:
            await agent.file_request("liming", "大额合同", "official", 1, doc, 500_000_001)
        assert caught.value.code == "bad_amount" and "¥5,000,000.00" in caught.value.message
        # The command queue carries JSON from another process: anything at all may arrive there.
        stored = {"sha256": "0" * 64, "name": "a.pdf", "size": 1}
        for fen in (500_000_001, 10**20, -1, True, 1.5, "100", None, [1]):
            args = {"applicant": "liming", "matter": "x", "seal": "official", "presses": 1, "amount_fen": fen, "document": stored}
            with pytest.raises(InputError) as caught:
                await agent.execute("file_request", args)
            assert caught.value.code == "bad_amount", fen
        assert [r["body"]["amount_fen"] for r in ledger_rows(agent.config.data_dir, P.FILED)] == [500_000_000]
    finally:
        await agent.close()


# -- the projection never dies on an accepted entry --------------------------------------------------------


def _filed_body(request_id: str, seq: int, device_id: str, amount_fen: int) -> dict[str, Any]:
    return {
        "request_id": request_id, "seq": seq, "village": "测试村", "applicant": "liming", "matter": "村道修缮",
        "seal": "official", "presses": 1, "amount_fen": amount_fen, "device_id": device_id, "device_name": DEVICE,
        "custodian": "wangfang", "document": {"sha256": "ab" * 32, "name": "doc.pdf", "size": 10},
        "route": {"rule": "huge", "mode": "n_of_m", "n": 2, "approvers": ["zhangwei", "chenjing"]},
    }  # fmt: skip


async def _poison(data_dir: Path, device_id: str) -> dict[int, str]:
    """Append entries the working database cannot take, as the agent would write them; index → what is wrong."""
    ledger = await Ledger.open(data_dir)
    try:
        entries = await ledger.append_many([
            (P.FILED, _filed_body("SR-000001", 1, device_id, 10**20)),  # beyond SQLite's INTEGER
            (P.FILED, {"request_id": "SR-000002", "seq": 2}),  # a filing missing nearly every field
            (P.seal_kind("press"), {"device_id": device_id, "event_id": 7, "event": "not an event"}),  # wrong shape
            (P.GRANT_ISSUED, {"device_id": device_id, "no": 2**64, "request_id": "SR-000001", "sid": "s", "at": 0,
                              "presses": 1, "valid_s": 60}),  # fmt: skip
        ])  # fmt: skip
        await ledger.checkpoint()
    finally:
        await ledger.close()
    return {entries[0].index: "64 位", entries[1].index: "缺少必需的字段", entries[2].index: "格式错误", entries[3].index: "64 位"}


async def test_the_agent_starts_on_a_poisoned_ledger_and_lists_each_bad_entry(tmp_path: Path) -> None:
    agent = await _enrolled(tmp_path)
    data_dir, device_id = agent.config.data_dir, (await agent.device_status())[0]["device_id"]
    config = agent.config
    await agent.close()
    poisoned = await _poison(data_dir, device_id)
    assert verify_ledger(data_dir).ok  # genuine entries, signed with the edge's key: nothing to reject them for

    agent = await EdgeAgent.open(config)  # replays the poisoned entries: today's main dies here (OverflowError)
    try:
        await agent.start()
        assert await agent.db.applied_upto() == await agent.ledger.size() - 1  # replay went on past every one
        unapplied = await agent.db.projection_anomalies()
        assert [a["entry"] for a in unapplied] == sorted(poisoned)
        for a in unapplied:
            assert poisoned[a["entry"]] in a["reason"], a
            assert not re.search("[A-Za-z]", a["reason"]), a  # the ledger page's words; the exception is in the log
        assert read_db(data_dir, "SELECT COUNT(*) AS n FROM requests")[0]["n"] == 0  # nothing half-applied
        assert read_db(data_dir, "SELECT COUNT(*) AS n FROM grants")[0]["n"] == 0

        console, store, ledger = await _console(agent)
        try:
            app = create_app(console, ledger)
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as c:
                web = Web(agent, c)
                await web.login("jiandu")  # supervisor and admin
                for path in ("/ledger", "/requests", "/devices", "/api/requests", "/api/devices", "/ledger.csv", "/ledger?anomaly=1"):
                    assert (await c.get(path)).status_code == 200, path
                page = (await c.get("/ledger")).text
                assert "条台账记录无法应用" in page
                for index in poisoned:
                    assert f'href="/ledger?before={index + 1}">#{index}</a>' in page
                flagged = (await c.get("/api/ledger", params={"anomaly": "true"})).json()["entries"]
                by_index = {e["index"]: e for e in flagged}
                assert set(poisoned) <= set(by_index)
                for index, why in poisoned.items():
                    assert by_index[index]["anomaly"] == "projection_failed" and why in by_index[index]["projection_error"]
                assert "台账条目无法应用" in (await c.get("/ledger.csv", params={"anomaly": "1"})).content.decode("utf-8-sig")

                # The village goes on: a new request is filed, approved-ready, under an id no bad entry named.
                await web.login("liming")
                filed = await web.api_file("1200")
                assert filed.status_code == 201, filed.text
                assert filed.json()["id"] not in {a["request_id"] for a in unapplied}
        finally:
            await ledger.close()
            await store.close()
    finally:
        await agent.close()

    again = await EdgeAgent.open(config)  # and a restart is as uneventful
    try:
        assert [a["entry"] for a in await again.db.projection_anomalies()] == sorted(poisoned)
    finally:
        await again.close()


def test_qinglian_edge_run_starts_on_a_poisoned_ledger(tmp_path: Path) -> None:
    """As systemd starts it: the service comes up with its console and stops cleanly (it used to die replaying)."""

    async def prepare() -> tuple[Path, Path, dict[int, str]]:
        agent = await _enrolled(tmp_path, '\n[web]\nlisten = "127.0.0.1:0"\n')
        device_id = (await agent.device_status())[0]["device_id"]
        await agent.close()
        return agent.config.path, agent.config.data_dir, await _poison(agent.config.data_dir, device_id)

    config_path, data_dir, poisoned = asyncio.run(prepare())
    log = tmp_path / "edge.log"
    proc = start_edge(config_path, log)

    def console_up() -> re.Match[str] | None:
        if proc.poll() is not None:
            raise AssertionError(f"qinglian edge run exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        return re.search(r"web console at (http://\S+)", log.read_text(errors="replace"))

    try:
        url = wait_until("the console's address in the log", console_up).group(1)
        assert httpx.get(f"{url}/login", timeout=30).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    text = log.read_text(errors="replace")
    for index in poisoned:
        assert f"台账条目 {index} " in text  # each one said in the log as it is left out
    assert [r["entry"] for r in read_db(data_dir, "SELECT entry FROM projection_anomalies ORDER BY entry")] == sorted(poisoned)


async def test_a_failed_entry_leaves_no_partial_rows(tmp_path: Path) -> None:
    agent = await _enrolled(tmp_path)
    try:
        request = await agent.file_request("liming", "村道修缮", "official", 1, document(tmp_path / "docs"))
        # closed: the request's status is updated first, then presses_used, which this body lacks
        async with agent.recorder.step():
            entry = await agent.recorder.record(P.CLOSED, {"request_id": request.id, "reason": "presses_used"})
        assert (await agent.get_request(request.id)).status == "pending"  # the first UPDATE was rolled back too
        assert [(a["entry"], a["request_id"]) for a in await agent.db.projection_anomalies()] == [(entry.index, request.id)]
        assert await agent.db.applied_upto() == entry.index
    finally:
        await agent.close()


async def test_a_fault_of_the_host_is_not_taken_for_a_bad_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def locked(conn: Any, e: Entry) -> None:
        await conn.execute("INSERT INTO meta (key, value) VALUES ('half', 'done')")
        raise sqlite3.OperationalError("database is locked")

    db = await EdgeDB.open(tmp_path, [Part("test", "测试", {"test.locked": "锁住"}, projection={"test.locked": locked})])
    try:
        entry = Entry(0, "2026-01-01T00:00:00.000000Z", "test.locked", {}, bytes(32), bytes(32))
        with pytest.raises(sqlite3.OperationalError):
            await apply_entries(db, [entry])
        assert await db.applied_upto() == -1  # not applied, not skipped: the next start applies it
        assert await db.projection_anomalies() == []
        assert not read_db(tmp_path, "SELECT 1 FROM meta WHERE key = 'half'")
    finally:
        await db.close()
