"""A seal's hours of use (用印时间, edge/seal/hours.py): the final approval only inside them, the grant's window cut
to their end, an urgent use outside them with a written reason and one more approver, flagged as an anomaly.
Instants in Asia/Shanghai, from a clock the test sets: 17:29, 17:30, 18:00, a holiday, a weekend, a 调休 Sunday."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from edge_support import (  # noqa: F401  (writer is a fixture)
    DEVICE, HUGE, LARGE, SMALL, board_identity, config_for, document, enrolled_writer, ledger_rows, qinglian, write_config, writer,
)  # fmt: skip
from test_ocr_edge import console_clients
from test_seal_regrant import token

from edge.agent import EdgeAgent
from edge.kernel.config import UseHours, load_config
from edge.kernel.errors import ConfigError, InputError, Refused
from edge.seal import projection as P
from edge.seal.hours import closed_message, grant_window_s, next_opening, urgent_route, window_end

SH = ZoneInfo("Asia/Shanghai")
HOURS = UseHours(
    time(8, 30), time(17, 30), "Asia/Shanghai",
    holidays=frozenset({datetime(2026, 10, d).date() for d in range(1, 8)}),  # 国庆 1–7 Oct 2026 (Thu–Wed)
    workdays=frozenset({datetime(2026, 10, 10).date()}),  # a Saturday worked instead (调休)
)  # fmt: skip
HOURS_TOML = """
[devices.hours]
open = "08:30"
close = "17:30"
timezone = "Asia/Shanghai"
holidays = ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07"]
workdays = ["2026-10-10"]
urgent_approver = "zhaolei"
"""
WORKDAY = (2026, 12, 3)  # a Thursday


def at(hh: int, mm: int, ss: int = 0, day: tuple[int, int, int] = WORKDAY) -> datetime:
    return datetime(*day, hh, mm, ss, tzinfo=SH)


# -- the pure rule ----------------------------------------------------------------------------------------------


def test_a_workday_window_is_half_open_and_the_grant_is_cut_to_its_end() -> None:
    assert window_end(HOURS, at(17, 29)) == at(17, 30)
    assert grant_window_s(HOURS, at(17, 29), 600) == 60  # approved at 17:29: the window ends at 17:30
    assert grant_window_s(HOURS, at(17, 29, 59), 600) == 1
    assert grant_window_s(HOURS, at(10, 0), 600) == 600  # well inside: the configured window
    assert window_end(HOURS, at(17, 30)) is None and grant_window_s(HOURS, at(17, 30), 600) is None
    assert grant_window_s(HOURS, at(18, 0), 600) is None
    assert window_end(HOURS, at(8, 30)) == at(17, 30) and window_end(HOURS, at(8, 29, 59)) is None
    # The same instant in UTC is read in the seal's zone: 09:29 UTC is 17:29 in Shanghai.
    assert grant_window_s(HOURS, at(17, 29).astimezone(UTC), 600) == 60
    assert grant_window_s(None, at(3, 0), 600) == 600  # no hours configured: no limit


def test_weekends_and_holidays_are_closed_and_the_next_opening_skips_them() -> None:
    assert next_opening(HOURS, at(18, 0)) == at(8, 30, day=(2026, 12, 4))  # Thursday evening → Friday
    assert window_end(HOURS, at(10, 0, day=(2026, 12, 5))) is None  # Saturday
    assert next_opening(HOURS, at(17, 31, day=(2026, 12, 4))) == at(8, 30, day=(2026, 12, 7))  # Friday → Monday
    assert window_end(HOURS, at(10, 0, day=(2026, 10, 1))) is None  # 国庆, a Thursday
    assert next_opening(HOURS, at(10, 0, day=(2026, 9, 30))) == at(8, 30, day=(2026, 10, 8))  # after the holidays
    assert window_end(HOURS, at(10, 0, day=(2026, 10, 10))) == at(17, 30, day=(2026, 10, 10))  # the 调休 Saturday
    message = closed_message(HOURS, at(18, 0))
    assert "不在用印时间内" in message and "12月04日 08:30" in message and "加急" in message


def test_urgent_route_asks_one_more_approval() -> None:
    chain = {"rule": "small", "mode": "chain", "n": 2, "approvers": ["zhangwei", "chenjing"]}
    assert urgent_route(chain, "zhaolei", ("liming", "wangfang"), "防汛") == {
        "rule": "small", "mode": "chain", "n": 3, "approvers": ["zhangwei", "chenjing", "zhaolei"], "urgent": "防汛"
    }  # fmt: skip
    assert urgent_route(chain, None, ("liming", "wangfang"), "防汛") is None  # nobody to add
    assert urgent_route(chain, "zhangwei", ("liming", "wangfang"), "防汛") is None  # already on it
    some = {"rule": "large", "mode": "n_of_m", "n": 2, "approvers": ["zhangwei", "chenjing", "zhaolei"]}
    assert urgent_route(some, None, ("liming", "wangfang"), "x") == {**some, "n": 3, "urgent": "x"}
    # The custodian on the route cannot count towards it: 3 of the 3 others already, so the extra one is added.
    full = {"rule": "huge", "mode": "n_of_m", "n": 3, "approvers": ["zhangwei", "chenjing", "zhaolei", "wangfang"]}
    assert urgent_route(full, None, ("liming", "wangfang"), "x") is None


# -- the config ---------------------------------------------------------------------------------------------------


def with_hours(folder: Path, hours: str = HOURS_TOML, device_id: str | None = None, approval_ttl_s: int = 300) -> Path:
    path = write_config(folder, "socket://127.0.0.1:9", device_id, use_window_s=600, approval_ttl_s=approval_ttl_s)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\n[[people]]", hours + "\n[[people]]", 1), encoding="utf-8")
    return path


def test_config_reads_the_hours_strictly_and_none_means_no_limit(tmp_path: Path) -> None:
    assert config_for(tmp_path / "plain", "socket://127.0.0.1:9").device(DEVICE).hours is None
    hours = load_config(with_hours(tmp_path / "h")).device(DEVICE).hours
    assert hours == UseHours(
        time(8, 30), time(17, 30), "Asia/Shanghai", HOURS.holidays, HOURS.workdays, "zhaolei"
    )  # fmt: skip
    bad = {
        'opne = "08:30"\n': "opne",  # a typo is an error, not a silent default
        'close = "7:30pm"\n': "close",
        'close = "08:00"\n': "close",  # before it opens
        'timezone = "Asia/Beijing"\n': "timezone",
        'holidays = ["2026-13-01"]\n': "holidays",
        'urgent_approver = "liming"\n': "urgent_approver",  # not an approver
        'urgent_approver = "wangfang"\n': "urgent_approver",  # the custodian
        'workdays = ["2026-10-01"]\n': "workdays",  # a holiday too
    }
    for i, (line, key) in enumerate(bad.items()):
        field = line.split(" ", 1)[0]
        text = "\n".join(x for x in HOURS_TOML.splitlines() if not x.startswith(field + " ")) + "\n" + line
        with pytest.raises(ConfigError, match=key):
            load_config(with_hours(tmp_path / f"bad{i}", text))


# -- the desk, with the edge's clock set by the test ------------------------------------------------------------


class SetClock:
    """The edge's clock: an instant the test sets, moving on with real time from there."""

    def __init__(self, start: datetime) -> None:
        self.set(start)

    def set(self, instant: datetime) -> None:
        self.offset = instant - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[tuple[EdgeAgent, SetClock]]:
    ident = board_identity(tmp_path)
    clock = SetClock(at(10, 0))
    agent = await enrolled_writer(load_config(with_hours(tmp_path, device_id=ident.device_id)), ident, clock)
    yield agent, clock
    await agent.close()


async def filed(agent: EdgeAgent, tmp_path: Path, amount_fen: int = SMALL) -> str:
    request = await agent.file_request("liming", "村委会证明", "official", 1, document(tmp_path), amount_fen=amount_fen)
    return request.id


async def test_the_final_approval_is_refused_from_1730_and_given_at_1729(desk: tuple[EdgeAgent, SetClock], tmp_path: Path) -> None:
    agent, clock = desk
    late = await filed(agent, tmp_path)
    clock.set(at(18, 0))
    await agent.approve(late, "zhangwei")  # the first of the chain may approve any time: it opens nothing
    with pytest.raises(Refused) as refused:
        await agent.approve(late, "chenjing")  # the final one would
    assert refused.value.code == "outside_hours" and "12月04日 08:30" in refused.value.message
    request = await agent.get_request(late)
    assert request.status == "pending" and request.approvers_done == ["zhangwei"]
    (entry,) = [e.body for e in await agent.ledger.entries_of_kind(P.APPROVAL_REFUSED) if e.body["request_id"] == late]
    assert entry["reason"] == "outside_hours" and entry["person"] == "chenjing" and "不在用印时间内" in entry["message"]

    clock.set(at(17, 30))  # exactly the close: closed
    with pytest.raises(Refused):
        await agent.approve(late, "chenjing")
    clock.set(at(10, 0, day=(2026, 12, 5)))  # a Saturday
    with pytest.raises(Refused):
        await agent.approve(late, "chenjing")
    clock.set(at(10, 0, day=(2026, 10, 1)))  # a holiday
    with pytest.raises(Refused):
        await agent.approve(late, "chenjing")
    clock.set(at(17, 29))
    assert (await agent.approve(late, "chenjing")).status == "approved"
    assert agent.desk.use_window_s(await agent.get_request(late), at(17, 29)) == 60


async def test_the_urgent_path_records_its_reason_and_one_more_approver(desk: tuple[EdgeAgent, SetClock], tmp_path: Path) -> None:
    agent, clock = desk
    request_id = await filed(agent, tmp_path)
    clock.set(at(18, 0))
    for who, reason, code in (("zhangwei", "防汛抢险", "not_applicant"), ("chenjing", "防汛抢险", "not_applicant")):
        with pytest.raises(Refused) as refused:
            await agent.desk.mark_urgent(request_id, who, reason)
        assert refused.value.code == code
    with pytest.raises(InputError):
        await agent.desk.mark_urgent(request_id, "liming", "  ")  # no written reason
    assert not await agent.ledger.entries_of_kind(P.URGENT)

    urgent = await agent.desk.mark_urgent(request_id, "liming", " 防汛抢险，连夜报送县防指 ", "liming-account")
    assert urgent.route["approvers"] == ["zhangwei", "chenjing", "zhaolei"] and urgent.route["n"] == 3
    (entry,) = [e.body for e in await agent.ledger.entries_of_kind(P.URGENT)]
    assert entry["reason"] == "防汛抢险，连夜报送县防指" and entry["account"] == "liming-account"
    assert entry["anomaly"] == "urgent_use"  # flagged: the ledger's anomalies list shows it to the supervisors
    with pytest.raises(Refused) as refused:
        await agent.desk.mark_urgent(request_id, "liming", "再次")
    assert refused.value.code == "already_urgent"

    await agent.approve(request_id, "zhangwei")
    assert (await agent.approve(request_id, "chenjing")).status == "pending"  # not final any more: one more to go
    approved = await agent.approve(request_id, "zhaolei")
    assert approved.status == "approved" and approved.approvers_done == ["zhangwei", "chenjing", "zhaolei"]
    assert agent.desk.use_window_s(approved, at(18, 0)) == 600  # the hours are lifted for this request alone


async def test_an_n_of_m_route_asks_one_more_of_its_own_approvers(desk: tuple[EdgeAgent, SetClock], tmp_path: Path) -> None:
    agent, clock = desk
    request_id = await filed(agent, tmp_path, LARGE)
    clock.set(at(20, 0, day=(2026, 12, 6)))  # a Sunday
    urgent = await agent.desk.mark_urgent(request_id, "liming", "村民医保报销材料当天须寄出")
    assert urgent.route["n"] == 3 and urgent.route["approvers"] == ["zhangwei", "chenjing", "zhaolei"]
    huge = await filed(agent, tmp_path, HUGE)  # the custodian on the route cannot count: 2 of 3 eligible → 3 of 3
    assert (await agent.desk.mark_urgent(huge, "liming", "x")).route["n"] == 3
    clock.set(at(10, 0))
    done = await filed(agent, tmp_path)
    await agent.approve(done, "zhangwei")
    await agent.approve(done, "chenjing")
    with pytest.raises(Refused) as refused:
        await agent.desk.mark_urgent(done, "liming", "晚上要用")  # approved already: nothing left to add to
    assert refused.value.code == "not_pending"


async def test_a_seal_without_hours_has_no_urgent_path(writer: EdgeAgent, tmp_path: Path) -> None:  # noqa: F811
    request_id = await filed(writer, tmp_path)
    with pytest.raises(Refused) as refused:
        await writer.desk.mark_urgent(request_id, "liming", "急用")
    assert refused.value.code == "no_hours"


# -- the console ------------------------------------------------------------------------------------------------


async def test_the_console_shows_the_hours_and_takes_the_urgent_path(desk: tuple[EdgeAgent, SetClock], tmp_path: Path) -> None:
    agent, clock = desk
    request_id = await filed(agent, tmp_path)
    clock.set(at(18, 0))
    await agent.approve(request_id, "zhangwei")
    async with console_clients(
        agent, ("liming", ["applicant"], "liming"), ("chenjing", ["approver"], "chenjing"), ("jiandu", ["supervisor"], None)
    ) as (applicant, approver, supervisor):
        page = (await applicant.get(f"/requests/{request_id}")).text
        assert "工作日 08:30–17:30" in page and 'id="urgent-form"' in page
        assert 'id="urgent-form"' not in (await approver.get(f"/requests/{request_id}")).text  # the applicant's path

        final = await approver.post(f"/api/requests/{request_id}/approve", headers={"X-CSRF-Token": await token(approver)})
        assert final.status_code == 409 and "不在用印时间内" in final.text
        stolen = await approver.post(
            f"/api/requests/{request_id}/urgent", json={"reason": "我替他加急"}, headers={"X-CSRF-Token": await token(approver)}
        )
        assert stolen.status_code == 403 and "只有申请人" in stolen.text  # only the applicant
        forged = await applicant.post(f"/api/requests/{request_id}/urgent", json={"reason": "急用"}, headers={"X-CSRF-Token": "x"})
        assert forged.status_code in (400, 403)
        assert not await agent.ledger.entries_of_kind(P.URGENT)

        form = await applicant.post(
            f"/requests/{request_id}/urgent", data={"reason": "防汛抢险材料须今晚报送", "csrf_token": await token(applicant)}
        )
        assert form.status_code == 303
        page = (await applicant.get(f"/requests/{request_id}")).text
        assert 'id="urgent"' in page and "防汛抢险材料须今晚报送" in page and 'id="urgent-form"' not in page
        assert "赵磊" in page  # the one more approver, on the route shown
        flagged = (await supervisor.get("/api/ledger", params={"anomaly": "true"})).json()["entries"]
        assert [e["kind"] for e in flagged if e["kind"] == P.URGENT] == [P.URGENT]


async def test_the_cli_takes_the_urgent_path(tmp_path: Path) -> None:
    ident = board_identity(tmp_path)
    config_path = with_hours(tmp_path, device_id=ident.device_id)
    agent = await enrolled_writer(load_config(config_path), ident)
    try:
        request_id = await filed(agent, tmp_path)
    finally:
        await agent.close()  # the CLI is the writer for its step
    base = ("request", "urgent", request_id, "--config", str(config_path))
    refused = await asyncio.to_thread(qinglian, *base, "--as", "zhangwei", "--reason", "替人加急")
    assert refused.returncode != 0 and "只有申请人" in refused.stdout + refused.stderr
    done = await asyncio.to_thread(qinglian, *base, "--as", "liming", "--reason", "防汛抢险")
    assert done.returncode == 0, done.stderr
    assert "加急用印 urgent use: 防汛抢险" in done.stdout and "赵磊(zhaolei)" in done.stdout
    (entry,) = ledger_rows(load_config(config_path).data_dir, P.URGENT)
    assert entry["body"]["reason"] == "防汛抢险" and entry["body"]["route"]["n"] == 3
