"""The original is read at filing: the route follows the larger of the declared and the read amount, every approver
sees both, a mismatch is an anomaly and a red mark, an unreadable original says so (edge/seal/reading.py).

Real OCR (Tesseract in the evidence's worker process) over generated contract pages; the simulated board."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import pytest
from edge_support import LARGE, SMALL, running_agent
from test_ocr_edge import console_clients
from test_web_push import Phone, eventually, harness
from web_support import Receiver

from edge.agent import EdgeAgent
from edge.kernel.errors import Refused
from edge.kernel.websettings import NotifyBackendConfig
from edge.ocr.desk import seal_zone
from edge.ocr.settings import CameraSettings
from edge.seal import desk as desk_module
from edge.seal import projection as P
from edge.seal.cli import format_request_line
from hostsim import pages
from hostsim.control import SimBoard

TIMEOUT = 60.0
CONTRACT = 2_850_000  # ¥28,500.00 on the page: the large-amount route (2 of 3)


def no_camera_but_ocr() -> CameraSettings:
    """Photo evidence on (its OCR worker reads originals), the desk camera unreachable: filing needs no camera."""
    return CameraSettings("http://127.0.0.1:9/stream.mjpg", seal_zone(), ocr_workers=1, timeout_s=1.0)


@pytest.fixture
async def edge(tmp_path: Path, board: SimBoard) -> AsyncIterator[EdgeAgent]:
    agent = await running_agent(tmp_path, board, no_camera_but_ocr())
    yield agent
    await agent.close()


def contract(folder: Path, amount_fen: int, seed: int = 31) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"contract-{seed}-{amount_fen}.png"
    cv2.imwrite(str(path), pages.render_page(pages.random_spec(seed, amount_fen=amount_fen)).image)
    return path


async def entries(agent: EdgeAgent, kind: str, request_id: str) -> list[dict[str, Any]]:
    return [e.body for e in await agent.ledger.entries_of_kind(kind) if e.body.get("request_id") == request_id]


@contextmanager
def ocr_frozen() -> Iterator[None]:
    """The OCR worker stopped (SIGSTOP), as on an edge whose workers are busy with a burst of photos."""
    pool = multiprocessing.active_children()
    assert len(pool) == 1, pool
    for process in pool:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in pool:
            os.kill(process.pid, signal.SIGCONT)


async def test_a_large_contract_filed_as_small_takes_the_large_route_and_is_flagged(edge: EdgeAgent, tmp_path: Path) -> None:
    filed = await edge.file_request("liming", "村道工程合同", "official", 1, contract(tmp_path, CONTRACT), amount_fen=SMALL)
    request = await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
    assert request.route["rule"] == "large" and request.route["mode"] == "n_of_m"  # not the two-person chain
    assert request.amount_fen == SMALL and request.amount_read_fen == CONTRACT and request.amount_mismatch
    assert "⚠ 原件金额 read on the original ¥28,500.00" in format_request_line(request.to_dict())  # the CLI's list
    (routed,) = await entries(edge, P.ROUTED, filed.id)
    assert routed["anomaly"] == "amount_mismatch"
    assert (routed["declared_fen"], routed["read_fen"], routed["route_fen"]) == (SMALL, CONTRACT, CONTRACT)
    (filing,) = await entries(edge, P.FILED, filed.id)
    assert filing["reading"] is True and filing["amount_fen"] == SMALL  # the declared amount, as typed
    # the chain's first approver alone no longer decides it: zhaolei (only on the large route) may approve
    await edge.approve(filed.id, "zhaolei")
    await edge.approve(filed.id, "zhangwei")
    assert (await edge.get_request(filed.id)).status != "pending"

    async with console_clients(edge, ("zhangwei", ["approver"], "zhangwei"), ("jiandu", ["supervisor"], None)) as (
        approver,
        supervisor,
    ):
        api = (await approver.get(f"/api/requests/{filed.id}")).json()
        assert (api["amount_fen"], api["amount_read_fen"], api["amount_mismatch"]) == (SMALL, CONTRACT, True)
        listed = {r["id"]: r for r in (await supervisor.get("/api/requests")).json()}
        assert listed[filed.id]["amount_read_fen"] == CONTRACT and listed[filed.id]["amount_mismatch"] is True
        page = (await approver.get(f"/requests/{filed.id}")).text
        assert "¥28,500.00" in page and "与申报金额不符" in page
        assert "申报金额与原件不符" in (await supervisor.get("/requests")).text  # the red mark in the list
        ledger = (await supervisor.get("/ledger?anomaly=1")).text
        assert "申报金额与原件不符" in ledger
        assert "原件识别后定审批路线 large：申报 ¥2,500.00，原件 ¥28,500.00，金额不符" in ledger  # one Chinese line
        everything = (await supervisor.get("/ledger")).text
        assert "原件识别：" in everything and "read_fen" not in everything and "ink_ppm" not in everything


async def test_a_small_amount_declared_large_also_is_a_mismatch_routed_by_the_declared(edge: EdgeAgent, tmp_path: Path) -> None:
    filed = await edge.file_request("liming", "采购合同", "official", 1, contract(tmp_path, 250_000, 32), amount_fen=LARGE)
    request = await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
    assert request.route["rule"] == "large" and request.amount_read_fen == 250_000 and request.amount_mismatch


async def test_a_matching_amount_is_no_anomaly(edge: EdgeAgent, tmp_path: Path) -> None:
    filed = await edge.file_request("liming", "村道工程合同", "official", 1, contract(tmp_path, CONTRACT, 33), amount_fen=CONTRACT)
    request = await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
    assert request.route["rule"] == "large" and request.amount_read_fen == CONTRACT and not request.amount_mismatch
    (routed,) = await entries(edge, P.ROUTED, filed.id)
    assert "anomaly" not in routed and routed["read"] == "read"
    async with console_clients(edge, ("zhangwei", ["approver"], "zhangwei")) as (approver,):
        page = (await approver.get(f"/requests/{filed.id}")).text
        assert "✓ 与申报一致" in page and "与申报金额不符" not in page


async def test_an_unreadable_original_says_so_to_the_approvers(edge: EdgeAgent, tmp_path: Path) -> None:
    broken = tmp_path / "scan.png"
    png = cv2.imencode(".png", pages.render_page(pages.random_spec(34)).image)[1].tobytes()
    broken.write_bytes(png[:200])  # a PNG cut off after its header: nothing to read
    filed = await edge.file_request("liming", "证明盖章", "official", 1, broken, amount_fen=SMALL)
    request = await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
    assert request.route["rule"] == "small" and request.original_read is not None
    assert request.original_read["state"] == "unreadable" and request.amount_read_fen is None
    (ocr,) = await entries(edge, P.DOCUMENT_OCR, filed.id)
    assert ocr["anomaly"] == "original_unreadable"
    async with console_clients(edge, ("zhangwei", ["approver"], "zhangwei")) as (approver,):
        assert "原件无法识别，请人工核对金额" in (await approver.get(f"/requests/{filed.id}")).text


async def test_nobody_decides_while_the_original_is_read(
    edge: EdgeAgent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desk_module, "FILING_READ_WAIT_S", 0.0)  # filing answers before the read, as when busy
    original = contract(tmp_path, CONTRACT, 35)
    with ocr_frozen():
        filed = await edge.file_request("liming", "村道工程合同", "official", 1, original, amount_fen=SMALL)
        assert filed.status == "reading" and filed.original_read is None
        with pytest.raises(Refused) as refused:
            await edge.approve(filed.id, "zhangwei")
        assert refused.value.code == "not_pending"
        async with console_clients(edge, ("zhangwei", ["approver"], "zhangwei")) as (approver,):
            page = (await approver.get(f"/requests/{filed.id}")).text
            assert "正在识别原件" in page and 'id="approve"' not in page
    request = await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
    assert request.route["rule"] == "large" and request.amount_mismatch


async def test_a_request_left_reading_at_a_stop_is_read_at_the_next_start(tmp_path: Path, board: SimBoard) -> None:
    first = await running_agent(tmp_path, board, no_camera_but_ocr())
    try:
        assert first.evidence is not None
        await first.evidence.close(drain_s=0)  # the photo evidence stopped: this run files but never reads
        filed = await first.file_request("liming", "村道工程合同", "official", 1, contract(tmp_path, CONTRACT, 36), amount_fen=SMALL)
        assert filed.status == "reading"
    finally:
        await first.close()
    second = await running_agent(tmp_path, board, no_camera_but_ocr())
    try:
        request = await second.wait_request(filed.id, {"pending"}, TIMEOUT)
        assert request.route["rule"] == "large" and request.amount_read_fen == CONTRACT
    finally:
        await second.close()


async def test_without_photo_evidence_a_request_is_pending_at_once(tmp_path: Path, board: SimBoard) -> None:
    agent = await running_agent(tmp_path, board)
    try:
        filed = await agent.file_request("liming", "证明", "official", 1, contract(tmp_path, CONTRACT, 37), amount_fen=SMALL)
        assert filed.status == "pending" and filed.original_read is None and filed.route["rule"] == "small"
    finally:
        await agent.close()


async def test_the_filing_form_offers_only_seals_a_device_holds_and_says_the_amount_is_read(edge: EdgeAgent) -> None:
    async with console_clients(edge, ("liming", ["applicant"], "liming")) as (applicant,):
        form = (await applicant.get("/requests/new")).text
    assert 'value="official"' in form and 'value="finance"' not in form and 'value="contract"' not in form
    assert "原件上的金额将自动识别" in form


async def test_a_refused_filing_speaks_chinese_only_on_the_page(edge: EdgeAgent, tmp_path: Path) -> None:
    async with console_clients(edge, ("liming", ["applicant"], "liming")) as (applicant,):
        csrf = (await applicant.get("/api/me")).json()["csrf_token"]
        png = contract(tmp_path, SMALL, 38).read_bytes()

        async def file(**form: str) -> str:
            fields = {"csrf_token": csrf, "matter": "证明", "seal": "official", "presses": "1", "amount": "", **form}
            answer = await applicant.post("/requests/new", data=fields, files={"document": ("a.png", png, "image/png")})
            assert answer.status_code == 400
            return answer.text

        page = await file(seal="finance")
        assert "没有装财务专用章的设备" in page and "no device holds" not in page
        page = await file(presses="0")
        assert "用印次数应为 1..100" in page and "presses must be" not in page


async def test_approvers_are_told_once_the_route_is_frozen_with_the_read_amount(edge: EdgeAgent, tmp_path: Path) -> None:
    """Not the provisional chain's first approver at filing: every approver of the route the read amount chose."""
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(edge, NotifyBackendConfig("webpush", "网页推送", subject="mailto:ops@qinglian.example"))
        try:
            phone = Phone(f"{push_service.url}/push/zhaolei-phone")  # only on the large route
            await h.subscribe("zhaolei", phone)
            filed = await edge.file_request("liming", "村道工程合同", "official", 1, contract(tmp_path, CONTRACT, 39), amount_fen=SMALL)
            await edge.wait_request(filed.id, {"pending"}, TIMEOUT)
            await eventually("zhaolei told", lambda: len(push_service.received) == 1, TIMEOUT)
            told = str(phone.decrypt(push_service.received[0].body))
            assert filed.id in told and "⚠ 原件金额 ¥28,500.00，与申报金额不符" in told
        finally:
            await h.close()
