"""What each role may see and do at the central, on SQLite and PostgreSQL: suppliers and banks apply and can do
nothing before a county officer of their county approves; no supplier sees another's anything; a township officer
sees only their township's villages, a county officer their county's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from central_accounts_support import (  # noqa: F401 - fixtures
    CODES,
    Clock,
    COUNTY,
    OTHER_COUNTY,
    OTHER_TOWNSHIP,
    PNG,
    TOWNSHIP,
    Central,
    apply,
    application,
    central,
    csrf_of,
    login,
    staff,
)
from central_support import Ledgers, db_url, enrol, ledgers, store  # noqa: F401 - fixtures

from central.accounts.store import MAX_LICENCE_BYTES, REGISTER_MAX_PER_ADDRESS
from central.app import create_app
from central.decisions.log import DecisionLog
from central.store import CentralStore


def _application_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/applications/(\d+)"', page)]


async def test_a_supplier_can_do_nothing_before_approval_and_sees_only_its_own(central: Central) -> None:
    await staff(central, "xianguan", "county_officer", f"county:{COUNTY}", "县监管")
    await staff(central, "yuhang", "county_officer", f"county:{OTHER_COUNTY}", "余杭监管")
    async with central.client() as first, central.client() as second, central.client() as officer:
        made = await apply(first, application("supplier", "lvshan", CODES[0]))
        assert made.status_code == 303 and made.headers["location"] == "/application"
        await apply(second, application("supplier", "qingshui", CODES[1]))
        status = await first.get("/application")
        assert "审核中" in status.text and "lvshan 有限公司" in status.text and "qingshui" not in status.text
        # Before approval: every other page leads back to the status, the API refuses, nothing is decided.
        for path in ("/work", "/", "/search", "/applications", "/admin/users", "/edges/any"):
            assert (await first.get(path)).headers.get("location") == "/application", path
        for path in ("/api/v1/edges", "/api/v1/stats", "/api/v1/me"):
            assert (await first.get(path)).status_code == 403, path
        # Only its own application, even by number.
        await login(officer, "xianguan")
        ids = _application_ids((await officer.get("/applications")).text)
        assert len(ids) == 2
        for n in ids:
            assert (await first.get(f"/applications/{n}")).headers.get("location") == "/application"
            assert (await first.get(f"/applications/{n}/licence")).headers.get("location") == "/application"
        # A county officer of another county neither sees nor decides it.
        async with central.client() as stranger:
            await login(stranger, "yuhang")
            assert _application_ids((await stranger.get("/applications")).text) == []
            token = await csrf_of(stranger)
            refused = await stranger.post(f"/applications/{ids[0]}/decision", data={"decision": "approve", "csrf": token})
            assert refused.status_code == 404
            assert (await stranger.get(f"/applications/{ids[0]}/licence")).status_code == 404
        # The officer of its county reads the scan as what its bytes are, then approves the one and refuses the other.
        scan = await officer.get(f"/applications/{ids[0]}/licence")
        assert scan.content == PNG and scan.headers["content-type"] == "image/png"
        assert scan.headers["x-content-type-options"] == "nosniff" and "sandbox" in scan.headers["content-security-policy"]
        token = await csrf_of(officer)
        lvshan, qingshui = sorted(ids)
        no_reason = await officer.post(f"/applications/{qingshui}/decision", data={"decision": "refuse", "csrf": token})
        assert no_reason.status_code == 400 and "理由" in no_reason.text
        await officer.post(f"/applications/{lvshan}/decision", data={"decision": "approve", "csrf": token})
        await officer.post(f"/applications/{qingshui}/decision",
                           data={"decision": "refuse", "reason": "执照已过期", "csrf": token})  # fmt: skip
        again = await officer.post(f"/applications/{lvshan}/decision", data={"decision": "refuse", "reason": "x", "csrf": token})
        assert again.status_code == 400 and "已经处理过" in again.text
        # Approved: its own work, still nothing of the other's, and still none of the villages' records.
        work = await first.get("/work")
        assert work.status_code == 200 and "可参与的采购" in work.text and "qingshui" not in work.text
        for n in ids:
            assert (await first.get(f"/applications/{n}")).status_code == 403
        assert (await first.get("/api/v1/edges")).status_code == 403
        assert (await first.get("/")).headers["location"] == "/work"
        refused = await second.get("/application")
        assert "未通过" in refused.text and "执照已过期" in refused.text
        assert (await second.get("/work")).headers["location"] == "/application"


async def test_a_bank_applies_and_lands_on_its_own_work(central: Central) -> None:
    await staff(central, "xianguan", "county_officer", f"county:{COUNTY}")
    async with central.client() as bank, central.client() as officer:
        await apply(bank, application("bank", "nongshang", CODES[2]))
        await login(officer, "xianguan")
        work = await officer.get("/work")
        assert "nongshang 有限公司" in work.text  # the officer's work: the application waiting
        (n,) = _application_ids((await officer.get("/applications")).text)
        await officer.post(f"/applications/{n}/decision", data={"decision": "approve", "csrf": await csrf_of(officer)})
        assert "暂无待审核的申请" in (await officer.get("/work")).text
        page = await bank.get("/work")
        assert page.status_code == 200 and "开放给银行的存放招标" in page.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"credit_code": CODES[0][:-1] + "0"}, "统一社会信用代码无效"),
        ({"credit_code": "12345"}, "统一社会信用代码无效"),
        ({"kind": "contractor"}, "申请类型"),
        ({"categories": []}, "供应类别"),
        ({"categories": ["办公用品", "<script>"]}, "供应类别"),
        ({"contact_phone": "call me"}, "联系电话"),
        ({"password": "12345678", "again": "12345678"}, "太常见"),
        ({"again": "something-else-entirely"}, "不一致"),
        ({"county": "萧山区/河上镇"}, "不能含 /"),
        ({"org_name": ""}, "单位名称"),
    ],
)
async def test_an_application_is_checked_at_the_boundary(central: Central, change: dict[str, object], message: str) -> None:
    async with central.client() as client:
        reply = await apply(client, {**application("supplier", "badform", CODES[3]), **change})
        assert reply.status_code == 400 and message in reply.text
    assert await central.accounts.account("badform") is None


@pytest.mark.parametrize(
    ("licence", "message"),
    [
        (b"", "请上传"),
        (b"<html><script>alert(1)</script></html>", "JPG、PNG 或 PDF"),
        (b"GIF89a" + b"\x00" * 100, "JPG、PNG 或 PDF"),
        (PNG + b"\x00" * MAX_LICENCE_BYTES, "不能超过"),
    ],
)
async def test_a_licence_scan_is_an_image_or_pdf_within_the_limit(central: Central, licence: bytes, message: str) -> None:
    async with central.client() as client:
        reply = await apply(client, application("supplier", "badscan", CODES[3]), licence, "licence.png")
        assert reply.status_code == 400 and message in reply.text
    assert await central.accounts.account("badscan") is None


async def test_an_application_needs_the_form_s_token_and_a_code_applies_once(central: Central) -> None:
    async with central.client() as client:
        data = application("supplier", "notoken", CODES[3])
        bare = await client.post("/register", data=data, files={"licence": ("l.png", PNG, "image/png")})
        assert bare.status_code == 403 and await central.accounts.account("notoken") is None
        assert (await apply(client, data)).status_code == 303
    async with central.client() as other:
        twice = await apply(other, application("supplier", "copycat", CODES[3]))
        assert twice.status_code == 400 and "已有申请" in twice.text


async def test_officers_see_only_the_villages_of_their_scope(central: Central, ledgers: Ledgers, tmp_path: Path) -> None:
    places = [("qinglian", "青莲村", TOWNSHIP, COUNTY), ("puyang", "浦阳村", OTHER_TOWNSHIP, COUNTY),
              ("liangzhu", "良渚村", "良渚街道", OTHER_COUNTY)]  # fmt: skip
    for edge_id, village, township, county in places:
        await ledgers.open(edge_id)
        await enrol(central.store, edge_id, tmp_path / edge_id, village, township, county)
    await staff(central, "hezhen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}")
    await staff(central, "xianguan", "county_officer", f"county:{COUNTY}")
    async with central.client() as township, central.client() as county:
        await login(township, "hezhen")
        await login(county, "xianguan")
        mine = (await township.get("/work")).text
        assert "青莲村" in mine and "浦阳村" not in mine and "良渚村" not in mine
        theirs = (await county.get("/work")).text
        assert "青莲村" in theirs and "浦阳村" in theirs and "良渚村" not in theirs
        # Another township's village, by page or API: the same answer as a village that does not exist.
        assert (await township.get("/edges/qinglian")).status_code == 200
        assert (await township.get("/edges/puyang")).status_code == 404
        assert (await township.get("/api/v1/edges/puyang")).status_code == 404
        assert (await township.get("/api/v1/edges/puyang/entries")).status_code == 404
        assert [e["edge_id"] for e in (await township.get("/api/v1/edges")).json()] == ["qinglian"]
        assert (await county.get("/edges/liangzhu")).status_code == 404
        # Nor may a township officer decide applications or manage accounts.
        assert (await township.get("/applications")).status_code == 403
        assert (await township.get("/admin/users")).status_code == 403
        token = await csrf_of(township)
        assert (await township.post("/admin/users", data={"csrf": token, "username": "x1"})).status_code == 403


async def test_a_decision_on_an_application_goes_into_the_central_s_decision_log_first(
    store: CentralStore, tmp_path: Path
) -> None:
    log = await DecisionLog.open(tmp_path, store.db)
    try:
        central = Central(store, create_app(store, decisions=log), Clock())
        await staff(central, "xianguan", "county_officer", f"county:{COUNTY}", "县监管")
        async with central.client() as first, central.client() as second, central.client() as officer:
            await apply(first, application("supplier", "lvshan", CODES[0]))
            await apply(second, application("bank", "nongshang", CODES[2]))
            await login(officer, "xianguan")
            lvshan, nongshang = sorted(_application_ids((await officer.get("/applications")).text))
            token = await csrf_of(officer)
            await officer.post(f"/applications/{lvshan}/decision", data={"decision": "approve", "csrf": token})
            await officer.post(f"/applications/{nongshang}/decision",
                               data={"decision": "refuse", "reason": "执照已过期", "csrf": token})  # fmt: skip
            # Refused before anything is written: no reason, or decided already.
            await officer.post(f"/applications/{lvshan}/decision", data={"decision": "refuse", "csrf": token})
            await officer.post(f"/applications/{lvshan}/decision", data={"decision": "approve", "csrf": token})
        entries = await log.ledger.entries(0, await log.ledger.size())
        assert [(e.kind, e.body["actor"], e.body["decision"]["org_name"]) for e in entries] == [
            ("registration.approved", "xianguan", "lvshan 有限公司"),
            ("registration.refused", "xianguan", "nongshang 有限公司"),
        ]
        assert entries[0].body["decision"]["credit_code"] == CODES[0] and "reason" not in entries[0].body["decision"]
        assert entries[1].body["decision"]["reason"] == "执照已过期"
        assert "13800001234" not in str([e.body for e in entries])  # no contact's phone in a public log
        assert (await central.accounts.application_of("lvshan")).status == "approved"  # type: ignore[union-attr]
    finally:
        await log.close()


async def test_one_address_cannot_flood_the_applications(central: Central) -> None:
    async with central.client("10.1.1.1") as flood, central.client("10.1.1.2") as honest:
        for n in range(REGISTER_MAX_PER_ADDRESS):
            assert (await apply(flood, application("supplier", f"flood{n}", "bad-code"))).status_code == 400
        refused = await apply(flood, application("supplier", "lvshan", CODES[0]))
        assert refused.status_code == 429 and "秒后再试" in refused.text
        assert await central.accounts.account("lvshan") is None
        assert (await apply(honest, application("supplier", "lvshan", CODES[0]))).status_code == 303
