"""转交: the approver whose turn it is hands their step to another approver, with a reason; a ledger entry, the new
approver is pushed, the old one can no longer act; never to the applicant, the custodian, someone on the route
already or someone who is no approver of this village."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from edge_support import (  # noqa: F401  (writer is a fixture)
    SMALL, board_identity, document, enrolled_writer, ledger_rows, qinglian, running_agent, write_config, writer,
)  # fmt: skip
from test_ocr_edge import console_clients
from test_seal_regrant import token
from test_web_push import Phone, eventually, harness
from web_support import Receiver

from edge.agent import EdgeAgent
from edge.kernel.config import Person, load_config
from edge.kernel.errors import InputError, Refused
from edge.kernel.websettings import NotifyBackendConfig
from edge.seal import projection as P
from edge.seal.handover import handed_route, taker_refusal
from hostsim.control import SimBoard


@pytest.fixture
async def edge(tmp_path: Path, board: SimBoard) -> AsyncIterator[EdgeAgent]:
    agent = await running_agent(tmp_path, board)
    yield agent
    await agent.close()


async def filed(agent: EdgeAgent, tmp_path: Path) -> str:
    """李明's request on the small route: 张伟, then 陈静."""
    return (await agent.file_request("liming", "村委会证明", "official", 1, document(tmp_path), amount_fen=SMALL)).id


async def test_the_step_goes_to_the_new_approver_and_the_old_one_can_no_longer_act(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    handed = await edge.hand_over(request_id, "zhangwei", "zhaolei", " 本人出差 ", "zhangwei-account")
    assert handed.route["approvers"] == ["zhaolei", "chenjing"] and handed.status == "pending"  # in its place
    (entry,) = [e.body for e in await edge.ledger.entries_of_kind(P.HANDED_OVER)]
    assert entry == {
        "request_id": request_id, "approver": "zhangwei", "to": "zhaolei", "reason": "本人出差",
        "account": "zhangwei-account", "route": {**handed.route},
    }  # fmt: skip
    with pytest.raises(Refused) as refused:
        await edge.approve(request_id, "zhangwei")
    assert refused.value.code == "not_on_route"
    with pytest.raises(Refused) as refused:
        await edge.hand_over(request_id, "zhangwei", "wangfang", "再转一次")  # no longer theirs to hand over
    assert refused.value.code == "not_your_turn"
    await edge.approve(request_id, "zhaolei")
    assert (await edge.approve(request_id, "chenjing")).status != "pending"  # the route completes as before


async def test_an_edge_database_from_before_request_records_finds_its_hand_overs_again(
    edge: EdgeAgent, tmp_path: Path
) -> None:  # fmt: skip
    request_id = await filed(edge, tmp_path)
    await edge.hand_over(request_id, "zhangwei", "zhaolei", "本人出差", "zhangwei-account")
    again = await edge.hand_over(request_id, "zhaolei", "zhangwei", "已回村", "zhaolei-account")
    handed = await edge.request_records(request_id)
    assert [e.kind for e in handed] == [P.HANDED_OVER, P.HANDED_OVER]
    await edge.close()
    db = sqlite3.connect(edge.config.data_dir / "edge.sqlite3")
    db.executescript("DROP TABLE request_records; PRAGMA user_version = 3;")
    db.close()
    reopened = await EdgeAgent.open(edge.config)
    try:
        assert await reopened.request_records(request_id) == handed
        assert (await reopened.get_request(request_id)).route == again.route
    finally:
        await reopened.close()


async def test_nobody_hands_a_step_to_the_applicant_the_custodian_or_someone_on_the_route(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    for giver, taker, code in (
        ("zhangwei", "liming", "self_approval"),  # the applicant would approve their own request
        ("zhangwei", "wangfang", "custodian_approval"),  # the custodian of the seal (an approver too)
        ("zhangwei", "chenjing", "already_on_route"),  # one person, two steps: the two-person rule would fall
        ("zhangwei", "zhangwei", "already_on_route"),
        ("chenjing", "zhaolei", "not_your_turn"),  # the chain's second, before the first decided
        ("zhaolei", "chenjing", "not_your_turn"),  # not on the route at all
    ):
        with pytest.raises(Refused) as refused:
            await edge.hand_over(request_id, giver, taker, "理由")
        assert refused.value.code == code, (giver, taker)
    for bad in ("", "   ", "长" * 501):
        with pytest.raises(InputError):
            await edge.hand_over(request_id, "zhangwei", "zhaolei", bad)
    with pytest.raises(InputError):
        await edge.hand_over(request_id, "zhangwei", "nobody", "理由")
    assert await edge.ledger.entries_of_kind(P.HANDED_OVER) == []  # nothing refused was recorded as done
    assert (await edge.get_request(request_id)).route["approvers"] == ["zhangwei", "chenjing"]

    await edge.reject(request_id, "zhangwei", "材料不全")
    again = await filed(edge, tmp_path)
    await edge.withdraw(again, "liming")
    with pytest.raises(Refused) as refused:
        await edge.hand_over(again, "zhangwei", "zhaolei", "理由")
    assert refused.value.code == "not_pending"


def test_only_an_approver_of_this_village_takes_a_step() -> None:
    from edge.seal.db import RequestView

    request = RequestView(
        id="SR-000001", status="pending", applicant="liming", matter="证明", seal="official", presses=1, amount_fen=0,
        device_id="QL-1", device_name="official-1", custodian="wangfang", document={}, filed_at="", approved_at=None,
        ended_at=None, grant_no=None, presses_used=0, reason=None, route={"mode": "chain", "n": 2, "approvers": ["a", "b"]},
    )  # fmt: skip
    neighbour = Person("li", "李四", frozenset({"approver"}), "白石村")
    assert taker_refusal(request, neighbour, "测试村") == ("not_approver", "只能转交给本村的审批人")
    clerk = Person("clerk", "文书", frozenset({"applicant"}), "测试村")
    assert taker_refusal(request, clerk, "测试村") is not None
    assert taker_refusal(request, Person("c", "丙", frozenset({"approver"}), "测试村"), "测试村") is None
    n_of_m = {"mode": "n_of_m", "n": 2, "approvers": ["a", "b", "c"]}
    assert handed_route(n_of_m, "b", "d") == {"mode": "n_of_m", "n": 2, "approvers": ["a", "d", "c"]}


async def test_the_new_approver_is_pushed_the_request(writer: EdgeAgent, tmp_path: Path) -> None:
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送", subject="mailto:ops@qinglian.example"))
        try:
            phone = Phone(f"{push_service.url}/push/zhaolei-phone")
            await h.subscribe("zhaolei", phone)
            request_id = await filed(writer, tmp_path)
            await writer.hand_over(request_id, "zhangwei", "zhaolei", "本人出差")
            await eventually("the hand-over pushed", lambda: len(push_service.received) == 1)
            pushed = str(phone.decrypt(push_service.received[0].body))
            assert "张伟转交给您审批" in pushed and "本人出差" in pushed and request_id in pushed
        finally:
            await h.close()


async def test_the_page_offers_the_hand_over_to_whoever_may_take_it(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    async with console_clients(
        edge, ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing"),
        ("zhaolei", ["approver"], "zhaolei"), ("jiandu", ["supervisor"], None),
    ) as (first, second, taker, supervisor):  # fmt: skip
        page = (await first.get(f"/requests/{request_id}")).text
        assert 'id="handover-form"' in page and '<option value="zhaolei">赵磊</option>' in page
        for barred in ("liming", "wangfang", "chenjing"):
            assert f'<option value="{barred}">' not in page
        assert 'id="handover-form"' not in (await second.get(f"/requests/{request_id}")).text  # not their turn
        # the second approver posts a hand-over anyway: refused, nothing changes
        token = (await second.get("/api/me")).json()["csrf_token"]
        forged = await second.post(f"/requests/{request_id}/handover", data={"csrf_token": token, "to": "zhaolei", "reason": "代批"})
        assert forged.status_code == 303
        assert "转交被拒绝：只有轮到审批的审批人可以转交" in (await second.get(f"/requests/{request_id}")).text
        assert await edge.ledger.entries_of_kind(P.HANDED_OVER) == []
        csrf = (await first.get("/api/me")).json()["csrf_token"]
        no_reason = await first.post(f"/requests/{request_id}/handover", data={"csrf_token": csrf, "to": "zhaolei", "reason": ""})
        assert no_reason.status_code == 303 and await edge.ledger.entries_of_kind(P.HANDED_OVER) == []
        done = await first.post(f"/requests/{request_id}/handover", data={"csrf_token": csrf, "to": "zhaolei", "reason": "本人出差"})
        assert done.status_code == 303 and done.headers["location"] == "/requests?tab=todo"
        assert "已转交给 赵磊" in (await first.get("/requests?tab=todo")).text
        assert (await first.get(f"/requests/{request_id}")).status_code == 404  # off the route: no longer theirs
        assert request_id in (await taker.get("/requests?tab=todo")).text
        taken = (await taker.get(f"/requests/{request_id}")).text
        assert "张伟 转交给 赵磊：本人出差" in taken and 'id="approve"' in taken and 'id="approve" disabled' not in taken
        assert "的审批转交给 赵磊(zhaolei)：本人出差" in (await supervisor.get("/ledger")).text


async def test_the_json_api_hands_over_as_the_page_does(edge: EdgeAgent, tmp_path: Path) -> None:
    request_id = await filed(edge, tmp_path)
    async with console_clients(
        edge, ("zhangwei", ["approver"], "zhangwei"), ("chenjing", ["approver"], "chenjing")
    ) as (first, second):  # fmt: skip
        url = f"/api/requests/{request_id}/handover"
        early = await second.post(url, json={"to": "zhaolei", "reason": "代批"}, headers={"X-CSRF-Token": await token(second)})
        assert early.status_code == 409 and "只有轮到审批的审批人可以转交" in early.text  # not their turn
        forged = await first.post(url, json={"to": "zhaolei", "reason": "本人出差"}, headers={"X-CSRF-Token": "x"})
        assert forged.status_code in (400, 403)
        csrf = {"X-CSRF-Token": await token(first)}
        to_applicant = await first.post(url, json={"to": "liming", "reason": "本人出差"}, headers=csrf)
        assert to_applicant.status_code == 409 and "self_approval" in to_applicant.text
        assert (await first.post(url, json={"to": "nobody", "reason": "本人出差"}, headers=csrf)).status_code == 400
        assert (await first.post(url, json={"to": "zhaolei", "reason": ""}, headers=csrf)).status_code in (400, 422)
        assert await edge.ledger.entries_of_kind(P.HANDED_OVER) == []
        done = await first.post(url, json={"to": "zhaolei", "reason": "本人出差"}, headers=csrf)
        assert done.status_code == 200, done.text
        assert done.json()["route"]["approvers"] == ["zhaolei", "chenjing"] and done.json()["status"] == "pending"
        (entry,) = await edge.ledger.entries_of_kind(P.HANDED_OVER)
        assert entry.body["account"] == "zhangwei" and entry.body["reason"] == "本人出差"
        (shown,) = (await second.get(f"/api/requests/{request_id}")).json()["handovers"]
        assert shown == {**entry.body, "at": entry.ts}  # the page's 转交 line, in the request's JSON


async def test_the_cli_hands_over_and_refuses_whoever_is_not_at_the_step(tmp_path: Path) -> None:
    ident = board_identity(tmp_path)
    config_path = write_config(tmp_path, "socket://127.0.0.1:9", ident.device_id)
    agent = await enrolled_writer(load_config(config_path), ident)
    try:
        request_id = await filed(agent, tmp_path)
    finally:
        await agent.close()  # the CLI is the writer for its step
    base = ("request", "hand-over", request_id, "--config", str(config_path), "--to", "zhaolei", "--reason", "本人出差")
    refused = await asyncio.to_thread(qinglian, *base, "--as", "chenjing")
    assert refused.returncode != 0 and "只有轮到审批的审批人可以转交" in refused.stdout + refused.stderr
    assert ledger_rows(load_config(config_path).data_dir, P.HANDED_OVER) == []
    done = await asyncio.to_thread(qinglian, *base, "--as", "zhangwei", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["route"]["approvers"] == ["zhaolei", "chenjing"]
    (entry,) = ledger_rows(load_config(config_path).data_dir, P.HANDED_OVER)
    assert entry["body"]["approver"] == "zhangwei" and entry["body"]["to"] == "zhaolei"


async def test_the_demo_shows_one_request_handed_over_and_a_second_run_adds_nothing(edge: EdgeAgent) -> None:
    from edge.seal.demo import seed

    await seed(edge)
    await seed(edge)
    (entry,) = await edge.ledger.entries_of_kind(P.HANDED_OVER)
    request = await edge.get_request(entry.body["request_id"])
    assert request.status == "pending" and request.route["approvers"] == ["zhaolei", "chenjing"]
    assert request.document["name"] == "土地流转合同.png" and len(await edge.list_requests()) == 1
