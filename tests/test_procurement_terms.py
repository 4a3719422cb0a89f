"""A county's procurement terms (its ``procurement`` configuration document): the bidding window, the
anti-sniping span and the credit deductions. A county that sets them gets them on its next tender and deduction,
recorded with each; what it leaves out stays the platform's default; a document out of bounds, or published for
a township, is refused with its reason and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from central_support import COUNTY, db_url, store  # noqa: F401 - fixtures
from test_procurement_race import DEMAND, EDGE, T0, open_tender, supplier

from central.accounts.roles import COUNTY_OFFICER
from central.accounts.store import AccountStore
from central.configdocs import PROCUREMENT_DEDUCTIONS, ConfigDocError
from central.decisions.log import DecisionLog
from central.modules.procurement import kinds as K
from central.modules.procurement.bidding import EXTEND, WINDOW
from central.modules.procurement.credit import DEDUCTIONS
from central.modules.procurement.creditdesk import deduct
from central.modules.procurement.terms import DEFAULT, from_document
from central.modules.procurement.tender import bid, seen_by
from central.store import CentralStore, Principal

TERMS = {"window_hours": 24, "extend_minutes": 10, "deductions": {"late_delivery": "5", "complaint_upheld": 12}}


def test_a_document_sets_what_it_names_and_leaves_the_rest_at_the_defaults() -> None:
    terms = from_document(COUNTY, 2, TERMS)
    assert (terms.window, terms.extend, terms.source) == (timedelta(hours=24), timedelta(minutes=10), f"county:{COUNTY} v2")
    assert terms.deductions == {**DEDUCTIONS, "late_delivery": 50, "complaint_upheld": 120}
    only = from_document(COUNTY, 1, {"deductions": {"failed_acceptance": "7.5"}})
    assert (only.window, only.extend, only.deductions["failed_acceptance"]) == (WINDOW, EXTEND, 75)
    assert DEFAULT.recorded() == {"window_hours": 72, "extend_minutes": 5, "source": "默认"}
    assert tuple(DEDUCTIONS) == PROCUREMENT_DEDUCTIONS  # the kinds a document may name are the ones deducted for


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_terms_out_of_bounds_or_for_a_township_are_refused(store: CentralStore) -> None:
    await store.publish(f"county:{COUNTY}", "procurement", {"window_hours": 720, "extend_minutes": 60,
                                                            "deductions": {"late_delivery": "100"}})  # fmt: skip
    for document, where in (({"window_hours": 721}, "window_hours"), ({"window_hours": 0}, "window_hours"),
                            ({"extend_minutes": 61}, "extend_minutes"), ({"deductions": {"late_delivery": "2.55"}}, "late_delivery"),
                            ({"deductions": {"late_delivery": "100.5"}}, "late_delivery"), ({"deductions": {"late_delivery": 0}}, "late_delivery"),
                            ({"deductions": {"bribery": "10"}}, "bribery"), ({}, "procurement")):  # fmt: skip
        with pytest.raises(ConfigDocError, match=where):
            await store.publish(f"county:{COUNTY}", "procurement", document)
    with pytest.raises(ConfigDocError, match="县发布"):
        await store.publish(f"township:{COUNTY}/河上镇", "procurement", {"window_hours": 24})
    assert [d.version for d in await store.config_documents()] == [1]  # nothing refused was kept


async def test_a_county_s_own_window_extension_and_deduction(store: CentralStore, tmp_path: Path) -> None:
    await store.publish(f"county:{COUNTY}", "procurement", TERMS)
    await store.publish("county:余杭区", "procurement", {"window_hours": 100})  # another county's: not ours
    log = await DecisionLog.open(tmp_path / "central", store.db)
    try:
        await open_tender(store, log)
        entries = await log.ledger.entries()
        approval = next(e.body["decision"] for e in entries if e.kind == K.DEMAND_APPROVED)
        assert approval["closes_at"] == "2026-12-02T09:00:00.000000Z"  # T0 + 24 h, not 3 days
        assert approval["terms"] == {"window_hours": 24, "extend_minutes": 10, "source": f"county:{COUNTY} v1"}
        application = await AccountStore(store.db).application_of("wenju")
        close = T0 + timedelta(hours=24)
        async with store.db.writer.begin() as conn:  # 10 minutes before the end: inside the county's span
            board = await bid(conn, log, supplier("wenju"), application, EDGE, DEMAND, 1_100_000, close - timedelta(minutes=10))
        assert board.closes_at == "2026-12-02T09:00:00.000000Z"  # at exactly the span: now + 10 min is the same end
        async with store.db.writer.begin() as conn:
            board = await bid(conn, log, supplier("wenju"), application, EDGE, DEMAND, 1_000_000, close - timedelta(minutes=6))
        assert board.closes_at == "2026-12-02T09:04:00.000000Z"  # moved 10 minutes on, where the default moves 5
        async with store.db.reader.connect() as conn:  # what the supplier's page says of the span
            assert (await seen_by(conn, "jiancai", EDGE, DEMAND))["extend_minutes"] == 10
        county = Principal("county", COUNTY, "县监管", COUNTY_OFFICER, "xianjian")
        async with store.db.writer.begin() as conn:
            score, listed = await deduct(conn, log, county, application, "late_delivery", "逾期交货两天", "验收单 YS-9", T0)
        assert (score, listed) == (950, False)  # 5 points, where the default takes 2.5
        deduction = (await log.ledger.entries())[-1]
        assert (deduction.kind, deduction.body["decision"]["delta"], deduction.body["decision"]["terms"]) == (
            K.CREDIT_DEDUCTED, -50, f"county:{COUNTY} v1"
        )
    finally:
        await log.close()
