"""The suppliers' catalogue: a qualified supplier lists goods with their price in its own categories (a decision in
the central's log first), its county's officers read them beside the suppliers' names, another county's do not;
a category it did not register, a bad price, an empty name or a missing CSRF token change nothing; a rival cannot
withdraw its goods, a blacklisted supplier cannot list."""

from __future__ import annotations

from pathlib import Path

import httpx
from central_accounts_support import CODES, OTHER_COUNTY, PASSWORD, PNG, Central, Clock, form_token, login, staff
from central_support import COUNTY, TOWNSHIP, db_url, store  # noqa: F401 - fixtures

import central.modules.procurement.kinds as K
from central.accounts.store import AccountStore
from central.app import create_app
from central.decisions.log import DecisionLog
from central.modules.procurement import PROCUREMENT
from central.modules.procurement.catalogue import covers_county
from central.modules.procurement.creditdesk import deduct
from central.modules.procurement.review import parse_iso
from central.store import CentralStore, Principal

PAGE = "/m/procurement/catalogue"


async def test_suppliers_list_their_goods_and_their_county_reads_them(store: CentralStore, tmp_path: Path) -> None:
    decisions = await DecisionLog.open(tmp_path / "central", store.db)
    app = create_app(store, parts=(PROCUREMENT,), decisions=decisions)
    central = Central(store, app, Clock())
    app.state.shell.clock = central.clock
    for username, role, scope in (("xianjian", "county_officer", f"county:{COUNTY}"), ("zhenshen", "township_officer", f"township:{COUNTY}/{TOWNSHIP}"),
                                  ("yuhang", "county_officer", f"county:{OTHER_COUNTY}")):  # fmt: skip
        await staff(central, username, role, scope)
    accounts = AccountStore(store.db)
    for username, code, categories in (("wenju", CODES[0], ["办公用品", "其他"]), ("jiancai", CODES[1], ["建材五金"])):
        made = await accounts.apply(kind="supplier", username=username, password=PASSWORD, org_name=f"{username}有限公司",
                                    credit_code=code, county=COUNTY, contact_name="王经理", contact_phone="13812345678",
                                    categories=categories, licence=PNG)  # fmt: skip
        await accounts.decide("county", COUNTY, made.id, True, "", "xianjian")

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://central")

    try:
        async with client() as wenju, client() as jiancai, client() as county, client() as township, client() as other:
            for c, username in ((wenju, "wenju"), (jiancai, "jiancai"), (county, "xianjian"), (township, "zhenshen"), (other, "yuhang")):
                assert (await login(c, username)).status_code == 303
            token = form_token(await wenju.get(PAGE))
            good = {"category": "办公用品", "name": "A4 打印纸", "unit": "箱", "price": "150.00", "csrf": token}
            assert (await wenju.post(PAGE, data=good)).status_code == 303
            for bad, why in (({"category": "建材五金"}, "登记的类别"), ({"price": "1.005"}, "最多两位小数"), ({"price": "0"}, "大于 0"),
                             ({"name": " "}, "请填写商品名称"), ({"unit": "一二三四五六七八九"}, "单位最多 8 个字")):  # fmt: skip
                refused = await wenju.post(PAGE, data={**good, **bad})
                assert refused.status_code == 400 and why in refused.text, (bad, refused.text[:300])
            assert (await wenju.post(PAGE, data={**good, "csrf": ""})).status_code == 403
            mine = (await wenju.get(PAGE)).text
            assert mine.count('id="goods-') == 1 and "¥150.00/箱" in mine
            for reader in (county, township):
                seen = (await reader.get(PAGE)).text
                assert "A4 打印纸" in seen and "wenju有限公司" in seen
            assert "A4 打印纸" not in (await other.get(PAGE)).text  # another county's officer
            assert "A4 打印纸" not in (await jiancai.get(PAGE)).text  # a rival sees only its own

            # A rival cannot take it down; its supplier can.
            rival = form_token(await jiancai.get(PAGE))
            assert (await jiancai.post(f"{PAGE}/1/withdraw", data={"csrf": rival})).status_code == 404
            assert (await wenju.post(f"{PAGE}/1/withdraw", data={"csrf": token})).status_code == 303
            assert 'id="goods-' not in (await county.get(PAGE)).text
            assert (await wenju.post(f"{PAGE}/1/withdraw", data={"csrf": token})).status_code == 404  # once

            # Blacklisted (77.5): no more listings.
            officer = Principal("county", COUNTY, "县监管", "county_officer", "xianjian")
            application = await accounts.application_of("jiancai")
            for kind in ("refused_to_sign", "late_delivery"):
                async with store.db.writer.begin() as conn:
                    await deduct(conn, decisions, officer, application, kind, "中标后拒签合同", "镇审核记录", parse_iso("2026-12-01T00:00:00+00:00"))
            refused = await jiancai.post(PAGE, data={**good, "category": "建材五金", "csrf": rival})
            assert refused.status_code == 409 and "黑名单" in refused.text
        kinds = [e.kind for e in await decisions.ledger.entries()]
        assert kinds.count(K.CATALOGUE_LISTED) == 1 and kinds.count(K.CATALOGUE_WITHDRAWN) == 1
    finally:
        await decisions.close()


def test_a_township_officer_reads_its_county_s_catalogue_only_when_its_scope_names_the_county() -> None:
    assert covers_county(Principal("township", f"{COUNTY}/{TOWNSHIP}"), COUNTY)
    assert not covers_county(Principal("township", TOWNSHIP), COUNTY)  # a township without its county: none
    assert not covers_county(Principal("township", f"{OTHER_COUNTY}/{TOWNSHIP}"), COUNTY)
    assert not covers_county(Principal("self", "wenju", role="supplier", account="wenju"), COUNTY)
    assert covers_county(Principal("all", "*"), COUNTY)
