"""The person at the desk through the edge agent: the simulated board's face camera photographs whoever holds the
seal when the grant opens the lock and at its last press (real OpenCV capture over MJPEG, the Haar cascade from
Debian's opencv-data), an empty chair is flagged no_person and the presses still go through, a dead face camera
is flagged as a failed capture, and the retention deletes the image while its hash stays and the ledger verifies."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from edge_support import SMALL, document, running_agent

from edge.agent import EdgeAgent
from edge.ledger import verify_ledger
from edge.ocr.desk import seal_zone
from edge.ocr.settings import CameraSettings
from edge.seal.person import PERSON_CAPTURE_FAILED, PERSON_PHOTO, PERSON_PHOTO_DELETED
from edge.seal.personcam import PersonCam, PersonStore
from hostsim.control import SimBoard

TIMEOUT = 30.0
WAIT_S = 60.0  # a loaded machine may take seconds for a frame; a dead camera is tested with a short wait
RETENTION_DAYS = 30


@pytest.fixture
def camboard(tmp_path: Path) -> Iterator[SimBoard]:
    with SimBoard(tmp_path / "board", camera=True) as sim:
        yield sim


def cameras(board: SimBoard, **overrides: Any) -> CameraSettings:
    assert board.camera_url and board.face_camera_url
    settings: dict[str, Any] = {"person_source": board.face_camera_url, "person_retention_days": RETENTION_DAYS, "timeout_s": WAIT_S}
    settings.update(overrides)
    return CameraSettings(board.camera_url, seal_zone(), **settings)


@pytest.fixture
async def agent(tmp_path: Path, camboard: SimBoard) -> AsyncIterator[EdgeAgent]:
    edge = await running_agent(tmp_path, camboard, cameras(camboard))
    yield edge
    await edge.close()


async def stamped(agent: EdgeAgent, board: SimBoard, tmp_path: Path, presses: int) -> str:
    """A request approved, its grant used up on the board; the person photos all recorded."""
    request = await agent.file_request("liming", "合同盖章", "official", presses, document(tmp_path), amount_fen=SMALL)
    await agent.wait_request(request.id, {"pending"}, TIMEOUT * 2)
    await agent.approve(request.id, "zhangwei")
    await agent.approve(request.id, "chenjing")
    await agent.wait_request(request.id, {"in_use"}, TIMEOUT)
    for _ in range(presses):
        await asyncio.to_thread(board.control.press)
    closed = await agent.wait_request(request.id, {"closed"}, TIMEOUT)
    assert closed.presses_used == presses  # the presses went through whatever the face camera saw
    assert agent.person is not None
    await agent.person.idle(WAIT_S * 2)
    return request.id


async def entries(agent: EdgeAgent, kind: str, request_id: str | None = None) -> list[Any]:
    """The entries of ``kind`` (of one request), in the order of the events they follow (photos are taken in
    parallel: the unlock's may be recorded after the last press's)."""
    found = [e for e in await agent.ledger.entries_of_kind(kind) if request_id is None or e.body.get("request_id") == request_id]
    return sorted(found, key=lambda e: e.body.get("trigger_entry", e.index))


async def test_the_person_is_photographed_at_the_unlock_and_at_the_last_press(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path
) -> None:
    request_id = await stamped(agent, camboard, tmp_path, 3)
    photos = await entries(agent, PERSON_PHOTO, request_id)
    assert [p.body["moment"] for p in photos] == ["unlock", "last_press"]  # not the two presses in between
    unlocked = [e for e in await entries(agent, "seal.unlocked", request_id)]
    last = [e for e in await entries(agent, "seal.press", request_id) if e.body["event"]["n"] == 3]
    assert photos[0].body["trigger_entry"] == unlocked[0].index < photos[0].index  # the event is committed first
    assert photos[1].body["trigger_entry"] == last[0].index and photos[1].body["press_no"] == 3
    store = PersonStore(agent.config.data_dir)
    for photo in photos:
        assert photo.body["faces"] == 1 and "anomaly" not in photo.body
        sha = photo.body["sha256"]
        assert hashlib.sha256(store.get(sha)).hexdigest() == sha
        assert not (agent.config.data_dir / "photos" / sha[:2] / sha).exists()  # apart from the page photos
    assert await entries(agent, PERSON_CAPTURE_FAILED) == []


async def test_an_empty_chair_is_flagged_no_person_and_the_stamping_goes_on(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path
) -> None:
    await asyncio.to_thread(camboard.control.face_camera, "person", present=False)
    request_id = await stamped(agent, camboard, tmp_path, 1)
    photos = await entries(agent, PERSON_PHOTO, request_id)
    assert [(p.body["moment"], p.body["faces"], p.body["anomaly"]) for p in photos] == [
        ("unlock", 0, "no_person"), ("last_press", 0, "no_person")
    ]  # fmt: skip
    # someone sits down again: the next use's photos find them
    await asyncio.to_thread(camboard.control.face_camera, "person", present=True)
    again = await stamped(agent, camboard, tmp_path, 1)
    assert [p.body["faces"] for p in await entries(agent, PERSON_PHOTO, again)] == [1, 1]


async def test_a_dead_face_camera_is_a_flagged_failure_and_the_press_goes_through(tmp_path: Path, camboard: SimBoard) -> None:
    dead = "http://127.0.0.1:9/stream.mjpg"  # the discard port: nothing serves a stream there
    edge = await running_agent(tmp_path, camboard, cameras(camboard, person_source=dead, timeout_s=3.0))
    try:
        request_id = await stamped(edge, camboard, tmp_path, 1)
        failed = await entries(edge, PERSON_CAPTURE_FAILED, request_id)
        assert [(f.body["moment"], f.body["anomaly"]) for f in failed] == [
            ("unlock", "person_capture_failed"), ("last_press", "person_capture_failed")
        ]  # fmt: skip
        assert "9/stream.mjpg" in failed[0].body["detail"] and failed[0].body["reason"] == "相机 3 秒内没有新画面"
        assert await entries(edge, PERSON_PHOTO) == []
        assert edge.person is not None and edge.person.status()["capture_failures"] == 2
    finally:
        await edge.close()


async def test_retention_deletes_the_image_keeps_the_hash_and_the_ledger_verifies(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path
) -> None:
    request_id = await stamped(agent, camboard, tmp_path, 1)
    photos = await entries(agent, PERSON_PHOTO, request_id)
    store = PersonStore(agent.config.data_dir)
    assert len(photos) == 2 and all(p.body["sha256"] in store for p in photos)
    assert agent.person is not None
    taken = max(datetime.fromisoformat(p.ts.replace("Z", "+00:00")) for p in photos)
    first = min(datetime.fromisoformat(p.ts.replace("Z", "+00:00")) for p in photos)

    # a second short of the retention: nothing goes
    assert await agent.person.sweep(first + timedelta(days=RETENTION_DAYS) - timedelta(seconds=1)) == []
    assert await entries(agent, PERSON_PHOTO_DELETED) == []
    # exactly the retention after the last taking: both go, each recorded first
    deleted = await agent.person.sweep(taken + timedelta(days=RETENTION_DAYS))
    assert sorted(deleted) == sorted({p.body["sha256"] for p in photos})
    records = await entries(agent, PERSON_PHOTO_DELETED, request_id)
    assert {r.body["sha256"] for r in records} == set(deleted)
    assert {r.body["photo_entry"] for r in records} <= {p.index for p in photos}  # one record per image
    assert all(r.body["retention_days"] == RETENTION_DAYS for r in records)
    assert not any(sha in store for sha in deleted)
    assert [p.body["sha256"] for p in await entries(agent, PERSON_PHOTO, request_id)] == [p.body["sha256"] for p in photos]
    # swept again: nothing more to record
    assert await agent.person.sweep(taken + timedelta(days=RETENTION_DAYS * 2)) == []
    assert len(await entries(agent, PERSON_PHOTO_DELETED)) == len(records)

    await agent.close()
    report = await asyncio.to_thread(verify_ledger, agent.config.data_dir)
    assert report.ok, report.reason


async def test_a_missing_face_detector_is_said_loudly_and_flagged_on_each_photo(
    agent: EdgeAgent, camboard: SimBoard, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert agent.person is not None and agent.config.camera is not None
    await agent.person.close()  # the agent's own: replaced by one whose cascade file is not there
    missing = tmp_path / "no-opencv-data" / "haarcascade_frontalface_default.xml"
    agent.person = PersonCam(agent.config, agent.config.camera, agent.recorder, cascade=missing)
    with caplog.at_level(logging.ERROR, logger="edge.person"):
        await agent.person.start()
    assert any("opencv-data" in r.getMessage() and str(missing) in r.getMessage() for r in caplog.records)
    assert "opencv-data" in (agent.person.status()["detector_error"] or "")
    request_id = await stamped(agent, camboard, tmp_path, 1)
    photos = await entries(agent, PERSON_PHOTO, request_id)
    assert [(p.body["faces"], p.body["anomaly"]) for p in photos] == [(None, "face_detector_missing")] * 2


async def test_photos_a_stopped_edge_never_took_are_flagged_at_the_next_start(tmp_path: Path, camboard: SimBoard) -> None:
    edge = await running_agent(tmp_path, camboard, cameras(camboard))
    try:
        assert edge.person is not None
        await edge.person.close()  # the face camera's service stops, as when the edge dies before capturing
        edge.person = None
        request = await edge.file_request("liming", "合同盖章", "official", 1, document(tmp_path), amount_fen=SMALL)
        await edge.wait_request(request.id, {"pending"}, TIMEOUT * 2)
        await edge.approve(request.id, "zhangwei")
        await edge.approve(request.id, "chenjing")
        await edge.wait_request(request.id, {"in_use"}, TIMEOUT)
        await asyncio.to_thread(camboard.control.press)
        await edge.wait_request(request.id, {"closed"}, TIMEOUT)
        assert await entries(edge, PERSON_PHOTO) == await entries(edge, PERSON_CAPTURE_FAILED) == []
        config = edge.config
    finally:
        await edge.close()

    for _ in range(2):  # started twice: the missing photos are recorded once
        again = await EdgeAgent.open(config)
        try:
            await again.start()
            failed = await entries(again, PERSON_CAPTURE_FAILED, request.id)
        finally:
            await again.close()
        assert [(f.body["moment"], f.body["anomaly"]) for f in failed] == [
            ("unlock", "person_capture_failed"), ("last_press", "person_capture_failed")
        ]  # fmt: skip
        assert all("stopped before capturing" in f.body["detail"] for f in failed)
        assert all(f.body["reason"] == "拍照前边缘代理停止，未拍照" for f in failed)
