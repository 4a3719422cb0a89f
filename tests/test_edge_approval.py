"""Approval routing and separation of duties; bad input changes nothing. No device needed here."""

from __future__ import annotations

from pathlib import Path

import pytest
from edge_support import HUGE, LARGE, SMALL, document, writer  # noqa: F401  (writer is a fixture)

from edge.agent import EdgeAgent
from edge.kernel.errors import InputError, NotFound, Refused
from edge.seal.projection import APPROVAL_REFUSED


async def _refusals(agent: EdgeAgent) -> list[dict]:  # type: ignore[type-arg]
    return [e.body for e in await agent.ledger.entries_of_kind(APPROVAL_REFUSED)]


async def test_self_approval_is_refused_and_recorded(writer: EdgeAgent, tmp_path: Path) -> None:
    # chenjing is an applicant and an approver; on the 2-of-3 route the other two can still approve.
    request = await writer.file_request("chenjing", "合同盖章", "official", 1, document(tmp_path), amount_fen=LARGE)
    size = await writer.ledger.size()
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "chenjing")
    assert info.value.code == "self_approval"
    assert "own request" in info.value.message and "自己" in info.value.message
    assert await writer.ledger.size() == size + 1
    (refusal,) = await _refusals(writer)
    assert refusal["person"] == "chenjing" and refusal["reason"] == "self_approval" and refusal["request_id"] == request.id
    assert (await writer.get_request(request.id)).status == "pending"
    assert (await writer.get_request(request.id)).approvals == ()


async def test_custodian_approval_is_refused_and_recorded(writer: EdgeAgent, tmp_path: Path) -> None:
    # wangfang keeps the device and is listed as an approver on the "huge" route: still refused.
    request = await writer.file_request("liming", "大额合同", "official", 2, document(tmp_path), amount_fen=HUGE)
    assert "wangfang" in request.route["approvers"]
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "wangfang")
    assert info.value.code == "custodian_approval"
    assert "custodian" in info.value.message
    (refusal,) = await _refusals(writer)
    assert refusal["person"] == "wangfang" and refusal["reason"] == "custodian_approval"
    assert (await writer.get_request(request.id)).status == "pending"


async def test_approver_not_on_route_is_refused(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "证明", "official", 1, document(tmp_path), amount_fen=SMALL)
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "zhaolei")  # an approver, but not on the small route
    assert info.value.code == "not_on_route"
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "liming")  # the applicant: separation of duties comes first
    assert info.value.code == "self_approval"
    assert [r["reason"] for r in await _refusals(writer)] == ["not_on_route", "self_approval"]


async def test_chain_is_approved_in_order(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "证明", "official", 1, document(tmp_path), amount_fen=SMALL)
    assert request.route["mode"] == "chain" and request.route["approvers"] == ["zhangwei", "chenjing"]
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "chenjing")
    assert info.value.code == "out_of_order" and "zhangwei" in info.value.message
    after_first = await writer.approve(request.id, "zhangwei")
    assert after_first.status == "pending"
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "zhangwei")
    assert info.value.code == "already_approved"
    final = await writer.approve(request.id, "chenjing")
    assert final.status == "approved" and final.approvers_done == ["zhangwei", "chenjing"]
    assert final.approved_at is not None


async def test_two_of_three_in_any_order(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "合同", "official", 2, document(tmp_path), amount_fen=LARGE)
    assert (request.route["mode"], request.route["n"]) == ("n_of_m", 2)
    assert (await writer.approve(request.id, "zhaolei")).status == "pending"
    final = await writer.approve(request.id, "zhangwei")
    assert final.status == "approved" and final.approvers_done == ["zhaolei", "zhangwei"]
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "chenjing")  # the third is not needed any more
    assert info.value.code == "not_pending"
    kinds = [e.kind for e in await writer.ledger.entries(0)]
    assert kinds.count("seal_request.approval") == 2 and kinds.count("seal_request.approved") == 1


async def test_rejection_needs_a_reason_and_ends_the_request(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "证明", "official", 1, document(tmp_path), amount_fen=LARGE)
    with pytest.raises(InputError):
        await writer.reject(request.id, "zhaolei", "  ")
    rejected = await writer.reject(request.id, "zhaolei", "材料不全 documents incomplete")
    assert rejected.status == "rejected" and rejected.reason == "材料不全 documents incomplete"
    with pytest.raises(Refused) as info:
        await writer.approve(request.id, "zhangwei")
    assert info.value.code == "not_pending"


async def test_route_nobody_could_approve_is_refused_at_filing(writer: EdgeAgent, tmp_path: Path) -> None:
    size = await writer.ledger.size()
    with pytest.raises(InputError) as info:
        # chenjing files a small request, whose chain needs chenjing's own approval.
        await writer.file_request("chenjing", "证明", "official", 1, document(tmp_path), amount_fen=SMALL)
    assert info.value.code == "route_impossible"
    assert await writer.ledger.size() == size


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"applicant": "nobody"}, "unknown_person"),
        ({"applicant": "zhaolei"}, "not_applicant"),
        ({"seal": "stamp"}, "bad_seal"),
        ({"seal": "finance"}, "no_device"),
        ({"presses": 0}, "bad_presses"),
        ({"presses": 101}, "bad_presses"),
        ({"presses": True}, "bad_presses"),
        ({"amount_fen": -1}, "bad_amount"),
        ({"amount_fen": 12.5}, "bad_amount"),
        ({"matter": "   "}, "bad_matter"),
        ({"document": Path("/nonexistent/original.pdf")}, "missing_file"),
    ],
)
async def test_bad_input_is_a_clear_error_and_changes_nothing(
    writer: EdgeAgent, tmp_path: Path, kwargs: dict, code: str  # type: ignore[type-arg]
) -> None:
    args = {"applicant": "liming", "matter": "证明", "seal": "official", "presses": 1,
            "document": document(tmp_path), "amount_fen": SMALL, **kwargs}  # fmt: skip
    size = await writer.ledger.size()
    with pytest.raises(InputError) as info:
        await writer.file_request(**args)
    assert info.value.code == code
    assert info.value.message
    assert await writer.ledger.size() == size
    assert await writer.list_requests() == []


async def test_unknown_request_and_person(writer: EdgeAgent) -> None:
    with pytest.raises(NotFound):
        await writer.approve("SR-999999", "zhangwei")
    with pytest.raises(InputError) as info:
        await writer.approve("SR-999999", "nobody")
    assert info.value.code == "unknown_person"
    assert await writer.ledger.size() > 0
    assert await _refusals(writer) == []


async def test_original_document_is_stored_by_hash(writer: EdgeAgent, tmp_path: Path) -> None:
    import hashlib

    doc = document(tmp_path, "原件内容 original content")
    request = await writer.file_request("liming", "证明", "official", 1, doc, amount_fen=SMALL)
    sha = hashlib.sha256(doc.read_bytes()).hexdigest()
    assert request.document == {"sha256": sha, "name": doc.name, "size": doc.stat().st_size}
    stored = writer.config.data_dir / "documents" / sha[:2] / sha
    assert stored.read_bytes() == doc.read_bytes()
    (filed,) = await writer.ledger.entries_of_kind("seal_request.filed")
    assert filed.body["document"]["sha256"] == sha
