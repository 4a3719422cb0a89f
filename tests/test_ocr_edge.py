"""Photo evidence through the edge agent: a photo and an OCR check per press, on the simulated board
with its virtual desk camera, real OpenCV capture and real Tesseract in a worker pool."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import json
import multiprocessing
import os
import signal
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import cv2
import httpx
import pytest
from edge_support import SMALL, running_agent
from web_support import PASSWORD, seed_account

from edge.agent import EdgeAgent
from edge.seal.evidence import CAPTURE_FAILED, DOCUMENT_OCR, PHOTO, PHOTO_CHECK, PHOTO_OCR, photo_summary
from edge.kernel.config import MAX_VALID_S
from edge.kernel.websettings import WebSettings
from edge.ledger import verify_ledger
from edge.ocr.desk import seal_zone
from edge.ocr.search import SearchIndex
from edge.ocr.settings import CameraSettings
from edge.seal.photos import PhotoStore
from edge.web.app import create_app
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from hostsim import pages
from hostsim.control import SimBoard

TIMEOUT = 20.0
CAPTURE_WAIT_S = 60.0


@pytest.fixture
def camboard(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(tmp_path / "board", camera=True) as sim:
        sim.control.camera("fit", **pages.village_seal("测试村", "公章"))  # the test device's seal: 测试村's 公章
        yield sim


def desk_camera(board: SimBoard, ocr_workers: int = 1) -> CameraSettings:
    """The board's virtual desk camera. A loaded machine may take seconds to deliver a frame, so the wait
    for one is far beyond that (the tests of a failed capture use a dead camera)."""
    assert board.camera_url
    return CameraSettings(board.camera_url, seal_zone(), ocr_workers=ocr_workers, timeout_s=CAPTURE_WAIT_S)


@pytest.fixture
async def agent(tmp_path: Path, camboard: SimBoard) -> AsyncIterator[EdgeAgent]:
    # OCR on both cores, at low priority; a grant's window (on the device's clock) that fifty presses
    # on a loaded machine cannot outlast
    edge = await running_agent(tmp_path, camboard, desk_camera(camboard, ocr_workers=2), use_window_s=MAX_VALID_S)
    yield edge
    await edge.close()


def page_file(folder: Path, seed: int, **overrides: Any) -> Path:
    """A generated contract page; it states the amount the tests' requests declare (the route follows the larger)."""
    overrides.setdefault("amount_fen", SMALL)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"page-{seed}.png"
    cv2.imwrite(str(path), pages.render_page(pages.random_spec(seed, **overrides)).image)
    return path


async def approved(agent: EdgeAgent, original: Path, presses: int) -> str:
    request = await agent.file_request("liming", "合同盖章", "official", presses, original, amount_fen=SMALL)
    await agent.wait_request(request.id, {"pending"}, TIMEOUT * 3)  # its original read first, by a cold worker maybe
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    return request.id


async def bodies(agent: EdgeAgent, kind: str, request_id: str) -> list[dict[str, Any]]:
    return [e.body for e in await agent.ledger.entries_of_kind(kind) if e.body.get("request_id") == request_id]


async def test_a_press_with_another_villages_seal_is_a_wrong_seal_anomaly(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path
) -> None:
    """The sleeve of the test village's 公章 holds 白石村's 合同专用章: the approved page, stamped, is flagged."""
    original = page_file(tmp_path / "docs", 11)
    request_id = await approved(agent, original, 1)
    await asyncio.to_thread(camboard.control.camera, "fit", **pages.village_seal("白石村", "合同专用章"))
    await asyncio.to_thread(camboard.control.camera, "place", file=str(original))
    await asyncio.to_thread(camboard.control.press)
    await agent.wait_request(request_id, {"closed"}, TIMEOUT)
    assert agent.evidence is not None
    await agent.evidence.idle(120)
    (check,) = await bodies(agent, PHOTO_CHECK, request_id)
    assert "wrong_seal" in check["flags"] and check["anomaly"] == "wrong_seal" and check["match"] is False
    impression = check["impression"]
    assert impression["expected_kind"] == "公章" and impression["flag"] == "wrong_seal"
    assert "other" in (impression["village"], impression["kind"])
    (shown,) = (await agent.request_detail(request_id))["press_events"]  # the request page's red mark
    assert "wrong_seal" in shown["flags"] and not shown["match"]
    async with console_clients(agent, ("jiandu", ["supervisor"], None)) as (supervisor,):
        (pressed,) = (await supervisor.get(f"/api/requests/{request_id}")).json()["press_events"]
        assert pressed["impression"] == impression  # what the page says of it, in its JSON too
        assert 'class="flag impression"' in (await supervisor.get(f"/requests/{request_id}")).text


async def test_every_press_has_a_photo_and_a_check_and_a_swapped_page_is_flagged(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path
) -> None:
    original = page_file(tmp_path / "docs", 21)
    request_id = await approved(agent, original, 3)
    control = camboard.control
    assert agent.evidence is not None
    shots = agent.evidence.shots
    await asyncio.to_thread(control.camera, "place", file=str(original))  # the approved page on the desk
    await asyncio.to_thread(control.press)
    await asyncio.to_thread(control.press)
    # The custodian holds the sheet until both presses are photographed: on a loaded machine the camera
    # lags, and a page swapped before then would be in the photos of the approved page's presses.
    assert await agent.evidence.photographed(shots + 2, TIMEOUT)
    await asyncio.to_thread(control.camera, "place", file=str(page_file(tmp_path / "docs", 22)))  # another page
    await asyncio.to_thread(control.press)
    await agent.wait_request(request_id, {"closed"}, TIMEOUT)
    await agent.evidence.idle(120)

    entries = [e for e in await agent.ledger.entries(0) if e.body.get("request_id") == request_id]
    presses = [e for e in entries if e.kind == "seal.press"]
    photos = [e for e in entries if e.kind == PHOTO]
    assert len(presses) == len(photos) == 3
    store = PhotoStore(agent.config.data_dir)
    for press, photo in zip(presses, photos):
        assert photo.body["press_entry"] == press.index < photo.index  # the press is committed first
        assert photo.body["press_no"] == press.body["event"]["n"]
        sha = photo.body["sha256"]
        assert hashlib.sha256(store.get(sha)).hexdigest() == sha

    (doc,) = await bodies(agent, DOCUMENT_OCR, request_id)  # the original, read once, at filing
    assert doc["title"] == pages.random_spec(21).title and doc["amount_fen"] == SMALL
    readings = await bodies(agent, PHOTO_OCR, request_id)
    checks = {c["press_no"]: c for c in await bodies(agent, PHOTO_CHECK, request_id)}
    assert len(readings) == 3 and sorted(checks) == [1, 2, 3]
    for n in (1, 2):
        assert checks[n]["flags"] == [] and checks[n]["match"] is True and "anomaly" not in checks[n], checks[n]
        assert checks[n]["score_permille"] > 900
    assert {"text", "title"} <= set(checks[3]["flags"]) and checks[3]["anomaly"] == "photo_mismatch"
    summary = await photo_summary(agent.ledger, request_id)
    assert (summary["photos"], summary["photos_matched"], summary["captures_failed"]) == (3, 2, 0)
    shown = (await agent.request_detail(request_id))["press_events"]  # what the console's request page shows
    assert [e["photo"] for e in shown] == [p.body["sha256"] for p in photos]
    assert [e["match"] for e in shown] == [True, True, False] and {"text", "title"} <= set(shown[2]["flags"])
    assert shown[0]["flags"] == [] and pages.random_spec(21).title in shown[0]["ocr_text"]

    index = SearchIndex.for_data_dir(agent.config.data_dir)
    try:
        title = pages.random_spec(21).title
        # two quick presses can be photographed in the same frame (the page with both impressions)
        assert len(index.search(title)) == len({p.body["sha256"] for p in photos[:2]})
        assert [h.press_no for h in index.search("", flag="text")] == [3]
    finally:
        index.close()
    assert verify_ledger(agent.config.data_dir).ok

    # Supervisors find the stamped pages in the console by their text; others only their own requests'.
    async with console_clients(agent, ("jiandu", ["supervisor"], None), ("liming", ["applicant"], "liming"),
                               ("zhaolei", ["approver"], "zhaolei")) as (jiandu, liming, zhaolei):  # fmt: skip
        found = (await jiandu.get("/api/search", params={"q": title})).json()
        assert {h["photo_sha256"] for h in found} == {p.body["sha256"] for p in photos[:2]}
        assert all(h["request"]["id"] == request_id and h["flags"] == [] for h in found)
        flagged = (await jiandu.get("/api/search", params={"flag": "title"})).json()
        assert [(h["press_no"], "title" in h["flags"]) for h in flagged] == [(3, True)]
        assert len((await liming.get("/api/search", params={"q": title})).json()) == len(found)
        assert (await zhaolei.get("/api/search", params={"q": title})).json() == []  # not on this request's route
        page = await jiandu.get("/search", params={"q": title})
        assert page.status_code == 200 and page.text.count('<li class="hit') == len(found) and "与原件一致" in page.text
        bad = await jiandu.get("/api/search", params={"since": "28/11/2026"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_date"
        camera = (await jiandu.get("/api/camera")).json()
        assert camera["configured"] and camera["connected"] and camera["last_error"] is None
        assert (camera["captures"], camera["capture_failures"], camera["ocr_backend"]) == (3, 0, "tesseract")
        devices = (await jiandu.get("/devices")).text
        assert 'id="camera"' in devices and "摄像头未连接" not in devices


@asynccontextmanager
async def console_clients(agent: EdgeAgent, *accounts: tuple[str, list[str], str | None]) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The agent's web console in-process, one logged-in client per account (username, roles, person)."""
    store = await WebStore.open(agent.config.data_dir)
    ledger = LedgerReader(agent.config.data_dir)
    clients: list[httpx.AsyncClient] = []
    try:
        app = create_app(Console(agent, store, WebSettings(enabled=True)), ledger)
        for username, roles, person in accounts:
            villages = None if person else ["*"]
            await seed_account(store, agent, username, roles, person, villages)
            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
            clients.append(client)
            assert (await client.post("/api/login", json={"username": username, "password": PASSWORD})).status_code == 200
        yield clients
    finally:
        for client in clients:
            await client.aclose()
        await ledger.close()
        await store.close()


async def test_a_failed_capture_is_a_flagged_entry(tmp_path: Path, camboard: SimBoard) -> None:
    dead = CameraSettings("http://127.0.0.1:9/stream.mjpg", seal_zone(), timeout_s=1.0)
    edge = await running_agent(tmp_path, camboard, dead)
    try:
        request_id = await approved(edge, page_file(tmp_path / "docs", 23), 1)
        await asyncio.to_thread(camboard.control.press)
        await edge.wait_request(request_id, {"closed"}, TIMEOUT)
        assert edge.evidence is not None
        await edge.evidence.idle(30)
        (failed,) = await bodies(edge, CAPTURE_FAILED, request_id)
        assert failed["anomaly"] == "capture_failed" and "秒内没有新画面" in failed["reason"]
        assert "no fresh frame" in failed["detail"]
        assert await bodies(edge, PHOTO, request_id) == []
        # the device page says so before anyone presses again
        async with console_clients(edge, ("jiandu", ["supervisor"], None)) as (jiandu,):
            camera = (await jiandu.get("/api/camera")).json()
            assert camera["configured"] and not camera["connected"] and "127.0.0.1:9" in camera["last_error"]
            assert (camera["captures"], camera["capture_failures"]) == (0, 1)
            page = (await jiandu.get("/devices")).text
            assert "摄像头未连接" in page and "无法打开摄像头 http://127.0.0.1:9/stream.mjpg" in page
            assert "cannot open" not in page  # the page is Chinese; the English is in the log
    finally:
        await edge.close()


def spellings(secret: str) -> set[str]:
    """The ways a page or a JSON answer could carry a secret: as typed, percent-encoded (either case),
    HTML-escaped, JSON-escaped, and inside an HTTP Basic credential."""
    percent = {quote(secret, safe=""), quote(secret), quote_plus(secret)}
    return {secret, html.escape(secret), json.dumps(secret)[1:-1], *percent, *(p.lower() for p in percent)}


async def test_an_ip_cameras_user_and_password_stay_off_the_device_page(tmp_path: Path, board: SimBoard) -> None:
    user, password = "kamera-admin", "Pa55:w@rd/青"  # characters a URL has to escape
    url = f"http://{quote(user, safe='')}:{quote(password, safe='')}@127.0.0.1:9/stream.mjpg"
    edge = await running_agent(tmp_path, board, CameraSettings(url, seal_zone(), timeout_s=1.0))
    try:
        evidence = edge.evidence
        assert evidence is not None

        async def camera_failed() -> bool:
            return bool(evidence.status()["last_error"])

        await edge.recorder.wait_for(camera_failed, TIMEOUT)
        async with console_clients(edge, ("jiandu", ["supervisor"], None)) as (jiandu,):
            api = await jiandu.get("/api/camera")
            page = await jiandu.get("/devices")
        assert "127.0.0.1:9" in api.json()["last_error"] and "127.0.0.1:9" in page.text  # the failing camera is named
        basic = base64.b64encode(f"{user}:{password}".encode()).decode()
        for shown in (api.text, page.text):
            for secret in (*spellings(user), *spellings(password), basic):
                assert secret not in shown
    finally:
        await edge.close()


@contextmanager
def ocr_frozen(workers: int) -> Iterator[None]:
    """The OCR worker processes stopped (SIGSTOP), as on a machine with no CPU to spare for them."""
    pool = multiprocessing.active_children()  # the evidence's worker pool: the board is a plain subprocess
    assert len(pool) == workers, pool
    for process in pool:
        os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for process in pool:
            os.kill(process.pid, signal.SIGCONT)


async def test_fifty_presses_in_a_row_do_not_wait_for_ocr(agent: EdgeAgent, camboard: SimBoard, tmp_path: Path) -> None:
    original = page_file(tmp_path / "docs", 24)
    request_id = await approved(agent, original, 50)
    await asyncio.to_thread(camboard.control.camera, "place", file=str(original))
    assert agent.evidence is not None
    with ocr_frozen(agent.evidence.settings.ocr_workers):
        for _ in range(50):
            await asyncio.to_thread(camboard.control.press, 30)
        closed = await agent.wait_request(request_id, {"closed"}, TIMEOUT)
        assert closed.presses_used == 50
        assert len(await bodies(agent, "seal.press", request_id)) == 50

        async def all_photographed() -> bool:
            return len(await bodies(agent, PHOTO, request_id)) == 50

        # the device link kept up and every press was photographed, with no OCR done at all
        await agent.recorder.wait_for(all_photographed, CAPTURE_WAIT_S)
        assert await bodies(agent, PHOTO_CHECK, request_id) == []
    assert await bodies(agent, CAPTURE_FAILED, request_id) == []
    await agent.evidence.close(drain_s=0.5)  # the rest of the OCR is redone at the next start


async def test_the_ocr_workers_run_below_the_agent_and_off_its_core(agent: EdgeAgent) -> None:
    # A lower priority alone left press -> ledger p99 at 60 ms with two workers beside an agent on one core
    # (benchmarks/bench_edge.py --ocr-anywhere); off the first core, 34-38 ms.
    assert agent.evidence is not None and agent.evidence._pool is not None
    pool = agent.evidence._pool
    cores = os.sched_getaffinity(0)
    nice = await asyncio.wrap_future(pool.submit(os.getpriority, os.PRIO_PROCESS, 0))
    assert nice == os.getpriority(os.PRIO_PROCESS, 0) + 10
    placed = await asyncio.wrap_future(pool.submit(os.sched_getaffinity, 0))
    assert placed == (cores - {min(cores)} if len(cores) > 1 else cores)


async def test_only_presses_of_a_run_with_the_camera_on_are_owed_a_photo(tmp_path: Path, camboard: SimBoard) -> None:
    camera = desk_camera(camboard)
    original = page_file(tmp_path / "docs", 25)
    plain = await running_agent(tmp_path, camboard, None)  # an edge from before the camera was fitted
    try:
        before = await approved(plain, original, 1)
        await asyncio.to_thread(camboard.control.press)
        await plain.wait_request(before, {"closed"}, TIMEOUT)
    finally:
        await plain.close()

    edge = await running_agent(tmp_path, camboard, camera)  # the camera fitted: no photo is owed for the old press
    try:
        assert await bodies(edge, CAPTURE_FAILED, before) == []
        during = await approved(edge, original, 1)
        assert edge.evidence is not None
        await edge.evidence.close()  # the evidence stops (as in a crash) before the press is photographed
        await asyncio.to_thread(camboard.control.press)
        await edge.wait_request(during, {"closed"}, TIMEOUT)
    finally:
        await edge.close()

    edge = await running_agent(tmp_path, camboard, camera)
    try:
        (failed,) = await bodies(edge, CAPTURE_FAILED, during)
        assert failed["anomaly"] == "capture_failed" and "stopped before capturing" in failed["detail"]
        assert await bodies(edge, CAPTURE_FAILED, before) == []
    finally:
        await edge.close()

    # a database from before press photos were projected: the upgrade fills them in from the ledger
    db = sqlite3.connect(edge.config.data_dir / "edge.sqlite3")
    db.executescript("DROP TABLE press_photos; PRAGMA user_version = 2;")
    db.close()
    edge = await EdgeAgent.open(edge.config)
    try:
        (shown,) = (await edge.request_detail(during))["press_events"]
        assert shown["capture_failed"] == "拍照前边缘代理停止，未拍照" and shown["photo"] is None
        (old,) = (await edge.request_detail(before))["press_events"]
        assert old["capture_failed"] is None and old["photo"] is None
    finally:
        await edge.close()


async def test_a_photo_left_unread_at_a_stop_is_read_at_the_next_start(tmp_path: Path, camboard: SimBoard) -> None:
    camera = desk_camera(camboard)
    original = page_file(tmp_path / "docs", 26)
    edge = await running_agent(tmp_path, camboard, camera)
    try:
        request_id = await approved(edge, original, 1)
        await asyncio.to_thread(camboard.control.camera, "place", file=str(original))
        await asyncio.to_thread(camboard.control.press)
        await edge.wait_request(request_id, {"closed"}, TIMEOUT)
        await edge.recorder.wait_for(lambda: bodies(edge, PHOTO, request_id), CAPTURE_WAIT_S)
        assert edge.evidence is not None
        await edge.evidence.close(drain_s=0)  # the agent stops with the photo stored and its OCR not done
        assert await bodies(edge, PHOTO_OCR, request_id) == []
    finally:
        await edge.close()

    edge = await running_agent(tmp_path, camboard, camera)
    try:
        assert edge.evidence is not None
        await edge.evidence.idle(TIMEOUT)
        (reading,) = await bodies(edge, PHOTO_OCR, request_id)
        (check,) = await bodies(edge, PHOTO_CHECK, request_id)
        assert check["match"] is True and check["press_no"] == 1 and reading["photo"] == check["photo"]
        (shown,) = (await edge.request_detail(request_id))["press_events"]
        assert shown["match"] is True and shown["ocr_text"]
        assert await bodies(edge, CAPTURE_FAILED, request_id) == []
    finally:
        await edge.close()
