"""The whistleblower module on a real agent: the roster, a clue through the whole loop with its deadlines on a
clock the test moves, the overdue flag from the tick, the year's rating recomputed by the CLI, and the clue's
secrecy at rest (every byte of the data folder searched; the township's key opens what the head's does)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from whistleblower_support import PASSPHRASE, ROSTER, Clock, all_bytes, found_in, open_agent, set_up_station

from edge.kernel.errors import InputError, Refused
from edge.modules.whistleblower import WHISTLEBLOWER, crypto, keyring
from edge.modules.whistleblower import kinds as K
from edge.modules.whistleblower import projection as P
from edge.modules.whistleblower.demo import seed
from edge.modules.whistleblower.desk import Attachment
from edge.web.demo import sample_png

SECRET = "村会计王某某把修路款转进了自家儿子的账户，金额约八万元"
REPORTER = "李秀英"
PHONE = "13957712345"


@pytest.fixture
def township() -> X25519PrivateKey:
    return X25519PrivateKey.generate()


@pytest.fixture
async def world(tmp_path: Path, township: X25519PrivateKey) -> Any:
    clock = Clock()
    agent = await open_agent(tmp_path, township, clock)
    desk = await set_up_station(agent)
    yield agent, desk, clock
    await agent.close()


async def clue_row(agent: Any, clue_id: str) -> dict[str, Any]:
    async with agent.recorder.step():
        row = await P.clue(agent.db.conn, clue_id)
    assert row is not None
    return row


async def test_the_roster_is_checked_when_saved(world: Any) -> None:
    agent, desk, _ = world
    with pytest.raises(InputError, match="联络员应为 2 名（现有 1 名）"):
        await desk.save_station("联络站", [m for m in ROSTER if m["id"] != "sunqiang"])
    with pytest.raises(InputError, match="站长应为 1 名（现有 0 名）.*至少需要 1 名廉情信息员"):
        await desk.save_station("联络站", [m for m in ROSTER if m["role"] == "liaison"])
    with pytest.raises(InputError, match="来源应为"):
        await desk.save_station("联络站", [*ROSTER, {"role": "informant", "id": "x1", "name": "某", "group": "cadre"}])
    with pytest.raises(InputError, match="重复"):
        await desk.save_station("联络站", [*ROSTER, {**ROSTER[-1]}])
    size = await agent.ledger.size()
    with pytest.raises(InputError):
        await desk.save_station("", ROSTER)
    assert await agent.ledger.size() == size  # a refused roster changes nothing


async def test_a_clue_goes_round_the_loop_within_its_deadlines(world: Any) -> None:
    agent, desk, clock = world
    filed = await desk.file_clue("public", SECRET, clock(), {"name": REPORTER, "phone": PHONE})
    assert len(filed.code) == 20 and filed.code.isdigit() and filed.id == "WB-2026-0001"
    row = await clue_row(agent, filed.id)
    assert row["state"] == "received" and row["collector"] is None
    assert row["ack_due"] == "2026-03-09T01:00:00.000000Z" and row["feedback_due"] == "2026-06-02T01:00:00.000000Z"
    with pytest.raises(Refused):
        await desk.acknowledge(filed.id, "wuxia", clock())  # a liaison is not the head
    with pytest.raises(InputError, match="核实须在「已研判」之后"):
        await desk.verify(filed.id, "zhoujian", "看过了", clock())
    clock.advance(days=7)  # exactly the deadline: on time
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
    assert (await clue_row(agent, filed.id))["ack_overdue"] is None
    await desk.acknowledge(filed.id, "zhoujian", clock())
    meeting = await desk.review_meeting(
        "zhoujian", date(2026, 3, 10), ["zhoujian", "wuxia"], [filed.id], "交联络员吴霞核实", clock()
    )
    assert (await clue_row(agent, filed.id))["state"] == "triaged" and meeting.startswith("RM-2026-03-10")
    await desk.verify(filed.id, "zhoujian", "查阅村账属实", clock())
    await desk.resolve(filed.id, "zhoujian", "confirmed", True, "已移交乡镇纪委，款项追回", clock())
    key = await desk.unlock("zhoujian", PASSPHRASE)
    clock.now = clock.now.replace(month=6, day=2)  # three months after receipt, to the microsecond
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
    await desk.feedback(filed.id, "zhoujian", "您反映的问题已查实，款项已追回。", key, clock())
    row = await clue_row(agent, filed.id)
    assert (
        row["state"] == "closed"
        and row["feedback_overdue"] is None
        and row["outcome"] == "confirmed"
        and row["solved"] == 1
    )
    # The reporter reads the feedback with the code, and only with it.
    found = await desk.find_by_code(filed.code)
    assert found is not None and found[0]["id"] == filed.id
    view = await desk.reporter_view(found[0], found[1])
    assert [(i["kind"], i["text"]) for i in view] == [("feedback", "您反映的问题已查实，款项已追回。")]
    assert await desk.find_by_code(f"{(int(filed.code) + 1) % 10**20:020d}") is None


async def test_an_unacknowledged_clue_is_flagged_overdue_on_day_8(world: Any) -> None:
    agent, desk, clock = world
    filed = await desk.file_clue("team", "村里低保评定没有公示", clock(), by="zhengli")
    clock.advance(days=7)
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
    assert (await clue_row(agent, filed.id))["ack_overdue"] is None
    clock.advance(microseconds=1)  # day 8 has begun
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]  # flagged once, not at every pass
    assert (await clue_row(agent, filed.id))["ack_overdue"] == "2026-03-09T01:00:00.000001Z"
    flags = await agent.ledger.entries_of_kind(K.OVERDUE)
    assert [(e.body["id"], e.body["step"], e.body["due"]) for e in flags] == [
        (filed.id, "acknowledge", "2026-03-09T01:00:00.000000Z")
    ]
    clock.now = clock.now.replace(month=6, day=2) + timedelta(seconds=1)
    await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
    assert (await clue_row(agent, filed.id))["feedback_overdue"] is not None


async def test_nothing_of_a_clue_is_readable_at_rest(world: Any, township: X25519PrivateKey, tmp_path: Path) -> None:
    agent, desk, clock = world
    picture = sample_png(64, 48)
    filed = await desk.file_clue(
        "public", SECRET, clock(), {"name": REPORTER, "phone": PHONE}, [Attachment("账本.png", picture)]
    )
    await desk.acknowledge(filed.id, "zhoujian", clock())
    await desk.review_meeting("zhoujian", date(2026, 3, 3), ["zhoujian"], [filed.id], "纪要：涉及王某某", clock())
    await desk.verify(filed.id, "zhoujian", "核实：王某某承认转账", clock())
    # A cadre with the database and every file of the edge: the clue's text, the reporter, the attachment,
    # the notes and the receipt code are in no byte of them (the ledger, the working database, the key files).
    assert all_bytes(tmp_path)
    for needle in (SECRET, REPORTER, PHONE, "王某某", filed.code):
        assert found_in(tmp_path, needle.encode()) == [], needle
    assert found_in(tmp_path, picture[8:40]) == []
    # ... and the head's key file does not open without the passphrase.
    async with agent.recorder.step():
        station = await P.station(agent.db.conn)
    assert station is not None
    with pytest.raises(InputError, match="口令不正确"):
        keyring.load_head_key(agent.config.data_dir, station["head_public"], "guess-the-passphrase")
    # The township officer's key (held at the central store) opens the clue as it travels in the ledger.
    (entry,) = await agent.ledger.entries_of_kind(K.CLUE_RECEIVED)
    content = crypto.open_sealed(entry.body["sealed"], township, f"{filed.id}:clue")
    assert content["text"] == SECRET and content["reporter"] == {"name": REPORTER, "phone": PHONE}
    assert crypto.unb64(content["attachments"][0]["data"]) == picture
    # A sealed text moved to another clue does not open.
    with pytest.raises(InputError, match="篡改"):
        crypto.open_sealed(entry.body["sealed"], township, "WB-2026-0002:clue")
    # The head, unlocked, reads everything in order.
    key = await desk.unlock("zhoujian", PASSPHRASE)
    async with agent.recorder.step():
        items = await P.sealed_items(agent.db.conn, filed.id)
    read = desk.read(filed.id, items, key)
    assert [(r["kind"], r["text"]) for r in read] == [("clue", SECRET), ("note", "核实：王某某承认转账")]


async def test_hostile_inputs_change_nothing(world: Any) -> None:
    agent, desk, clock = world
    size = await agent.ledger.size()
    for bad in (
        lambda: desk.file_clue("public", "   ", clock()),
        lambda: desk.file_clue("public", "x" * 5001, clock()),
        lambda: desk.file_clue("public", "有问题", clock(), attachments=[Attachment("a.exe", b"MZ\x90\x00" * 10)]),
        lambda: desk.file_clue(
            "public", "有问题", clock(), attachments=[Attachment(f"{n}.png", sample_png()) for n in range(4)]
        ),
        lambda: desk.file_clue("liaison", "有问题", clock(), by="zhengli"),  # an informant is no liaison
        lambda: desk.file_clue("team", "有问题", clock(), by="outsider"),
        lambda: desk.file_clue("smoke", "有问题", clock()),
    ):
        with pytest.raises((InputError, Refused)):
            await bad()
    with pytest.raises(InputError, match="口令不正确"):
        await desk.unlock("zhoujian", "not-the-passphrase")
    with pytest.raises(InputError, match="当场答复数不能多于"):
        await desk.qa_meeting("zhoujian", date(2026, 3, 20), ["zhoujian"], 10, 2, 3, "摘要", clock())
    assert await agent.ledger.size() == size


async def test_the_year_is_rated_and_the_cli_recomputes_it(world: Any, tmp_path: Path) -> None:
    agent, desk, clock = world
    key = await desk.unlock("zhoujian", PASSPHRASE)

    async def closed(who: str, confirmed: bool, solved: bool) -> None:
        f = await desk.file_clue("team", f"{who} 收集的线索", clock(), by=who)
        await desk.acknowledge(f.id, "zhoujian", clock())
        await desk.review_meeting("zhoujian", date(2026, 3, 5), ["zhoujian"], [f.id], "研判", clock())
        await desk.verify(f.id, "zhoujian", "核实", clock())
        await desk.resolve(f.id, "zhoujian", "confirmed" if confirmed else "dismissed", solved, "理由", clock())
        await desk.feedback(f.id, "zhoujian", "反馈", key, clock())

    await closed("zhengli", True, True)
    await closed("zhengli", True, False)
    await closed("fenghua", True, False)
    await closed("wuxia", False, False)
    await closed("sunqiang", True, True)
    await desk.misconduct("zhoujian", "sunqiang", 2026, "cover_up", clock())
    await desk.qa_meeting("zhoujian", date(2026, 3, 28), ["zhoujian", "wuxia"], 40, 6, 6, "答疑 6 个问题", clock())
    clock.now = clock.now.replace(year=2027, month=1, day=5)
    ratings = await desk.rate("zhoujian", 2026, agent.ledger, clock())
    assert [(r.person, r.rating, r.pay_factor) for r in ratings] == [
        ("zhoujian", "mute", "0.8"), ("wuxia", "ordinary", "1.0"), ("sunqiang", "black", "0"),
        ("zhengli", "gold", "1.2"), ("fenghua", "silver", "1.1"),
    ]  # fmt: skip
    assert WHISTLEBLOWER.cli is not None
    parser = argparse.ArgumentParser(prog="qinglian")
    WHISTLEBLOWER.cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["whistleblower", "rate", "--year", "2026", "--data", str(agent.config.data_dir), "--json"]
    )
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert await asyncio.to_thread(args.func, args) == 0
    printed = json.loads(out.getvalue())
    (run,) = await agent.ledger.entries_of_kind(K.RATED)
    assert printed == {
        "station": "测试村监察工作联络站",
        "ratings": run.body["ratings"],
        "figures": run.body["figures"],
    }
    assert printed["figures"] == {"clues": 5, "review_meetings": 5, "qa_meetings": 1, "solved": 2}
    assert printed["ratings"][3] == {"person": "zhengli", "rating": "gold", "clues": 2, "confirmed": 2, "solved": 1}


async def test_the_years_visits_against_its_plan(world: Any) -> None:
    agent, desk, clock = world
    with pytest.raises(InputError, match="走访计划缺少：fenghua"):
        await desk.plan_visits("zhoujian", 2026, {m["id"]: 10 for m in ROSTER[:-1]}, clock())
    with pytest.raises(InputError, match="户数"):
        await desk.plan_visits("zhoujian", 2026, {**{m["id"]: 10 for m in ROSTER}, "wuxia": 1001}, clock())
    with pytest.raises(Refused):
        await desk.plan_visits("wuxia", 2026, {m["id"]: 10 for m in ROSTER}, clock())
    await desk.plan_visits("zhoujian", 2026, {m["id"]: 10 for m in ROSTER}, clock())
    await desk.plan_visits("zhoujian", 2026, {**{m["id"]: 10 for m in ROSTER}, "wuxia": 30}, clock())  # revised
    await desk.record_visit("wuxia", "wuxia", date(2026, 3, 1), "6", clock())
    await desk.record_visit("zhoujian", "wuxia", date(2026, 3, 2), 4, clock())  # the head records for a member
    with pytest.raises(Refused, match="只能记录自己的走访"):
        await desk.record_visit("zhengli", "wuxia", date(2026, 3, 2), 1, clock())
    with pytest.raises(InputError, match="不能晚于今天"):
        await desk.record_visit("wuxia", "wuxia", date(2026, 3, 3), 1, clock())
    async with agent.recorder.step():
        done = {v["person"]: (v["planned"], v["visited"], v["visits"]) for v in await P.visits_of(agent.db.conn, 2026)}
    assert done["wuxia"] == (30, 10, 2) and done["zhengli"] == (10, 0, 0)


async def test_the_demo_seeds_a_station_once(tmp_path: Path, township: X25519PrivateKey) -> None:
    clock = Clock()
    agent = await open_agent(tmp_path, township, clock)
    try:
        await seed(agent)
        size = await agent.ledger.size()
        await seed(agent)
        assert await agent.ledger.size() == size
        await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
        async with agent.recorder.step():
            clues = await P.clues(agent.db.conn)
            ratings = await P.ratings(agent.db.conn)
        assert {c["state"] for c in clues} >= {"received", "acknowledged", "verified", "closed"}
        assert [c["id"] for c in clues if c["ack_overdue"]] == [
            c["id"] for c in clues if c["source"] == "public" and c["state"] == "received"
        ]
        assert {r["year"] for r in ratings} == {2025} and "gold" in {r["rating"] for r in ratings}
    finally:
        await agent.close()
