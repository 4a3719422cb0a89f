"""The virtual desk camera served as MJPEG, read through OpenCV by the edge's warm camera."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from edge.seal.capture import Camera, CaptureError, capture_failure, parse_source, shown_source
from edge.ocr.desk import FRAME_SIZE, seal_zone
from edge.ocr.seal import find_seal
from hostsim import pages
from hostsim.camera import CameraServer, VirtualCamera


class ServedCamera:
    """A CameraServer on its own event loop thread, as in ``qinglian sim device --camera``."""

    def __init__(self, port: int = 0, camera: VirtualCamera | None = None, fps: float = 20) -> None:
        self.camera = camera or VirtualCamera(seed=1)
        self.loop = asyncio.new_event_loop()
        self.server = CameraServer(self.camera, "127.0.0.1", port, fps=fps)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)

    def control(self, **request: object) -> dict[str, object]:
        return asyncio.run_coroutine_threadsafe(self.server.control(dict(request)), self.loop).result(30)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def served() -> Iterator[ServedCamera]:
    s = ServedCamera()
    yield s
    s.close()


def test_opencv_reads_the_mjpeg_stream(served: ServedCamera) -> None:
    served.control(op="place", seed=2)
    cap = cv2.VideoCapture(served.server.url, cv2.CAP_FFMPEG)
    try:
        assert cap.isOpened()
        ok, frame = cap.read()
        assert ok and frame.shape == (FRAME_SIZE[1], FRAME_SIZE[0], 3)
        # a sheet of paper lies in the middle of a darker desk
        assert frame[1100, 800].mean() > 150 > frame[20, 20].mean()
    finally:
        cap.release()


def test_capture_returns_a_frame_taken_after_the_trigger(served: ServedCamera) -> None:
    served.control(op="place", seed=3)
    with Camera(served.server.url, settle=2, timeout_s=10) as camera:
        assert camera.wait_ready(10)
        before = cv2.imdecode(np.frombuffer(camera.capture(), np.uint8), cv2.IMREAD_COLOR)
        assert not find_seal(before).found
        state = served.control(op="stamp")  # the seal comes down ...
        pressed = time.monotonic()  # ... and the trigger fires
        after = cv2.imdecode(np.frombuffer(camera.capture(after=pressed), np.uint8), cv2.IMREAD_COLOR)
        mark = find_seal(after, seal_zone())
        assert mark.found and mark.inside_area
        x, y = state["stamps_in_frame"][0]  # type: ignore[index]
        assert abs(mark.center[0] - x) < 15 and abs(mark.center[1] - y) < 15  # type: ignore[index]


def test_capture_fails_loudly_and_reconnects() -> None:
    first = ServedCamera()
    port = first.server.port
    camera = Camera(f"http://127.0.0.1:{port}/stream.mjpg", settle=1, timeout_s=1.0, reconnect_s=0.2).start()
    try:
        assert camera.wait_ready(10)
        camera.capture()
        first.close()  # the camera loses power
        # Frames already in the client's socket buffer may still decode after the close (on a loaded
        # machine they even look waited-for); they are finite, so the failure comes within a few captures.
        with pytest.raises(CaptureError):
            for _ in range(20):
                camera.capture(timeout_s=1.0)
        second = ServedCamera(port=port)  # and comes back
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    assert camera.capture(timeout_s=2.0)
                    break
                except CaptureError:
                    assert time.monotonic() < deadline, camera.last_error
            assert camera.reconnects >= 1
        finally:
            second.close()
    finally:
        camera.stop()


def test_no_camera_is_an_error_not_a_hang() -> None:
    with Camera("http://127.0.0.1:9/stream.mjpg", timeout_s=0.5, reconnect_s=0.2) as camera:
        with pytest.raises(CaptureError, match="秒内没有新画面") as failed:
            camera.capture()
        assert camera.last_error and "no fresh frame" in failed.value.detail and camera.last_error in failed.value.detail
        assert camera.last_error == "无法打开摄像头 http://127.0.0.1:9/stream.mjpg"  # the device page's words


def test_a_failed_shot_records_its_reason_in_chinese_and_the_detail_for_a_technician() -> None:
    assert capture_failure(CaptureError("相机未启动", "camera not started")) == {
        "reason": "相机未启动", "detail": "camera not started"
    }  # fmt: skip
    full = capture_failure(OSError(28, "No space left on device"))
    assert full["reason"] == "照片无法保存" and "No space left" in full["detail"]


def test_a_camera_password_stays_out_of_errors_and_logs() -> None:
    assert shown_source("rtsp://admin:s3cret@192.168.1.20:554/live") == "rtsp://***@192.168.1.20:554/live"
    assert shown_source("http://[::1]:8081/stream.mjpg") == "http://[::1]:8081/stream.mjpg"
    assert shown_source("/dev/video0") == "/dev/video0" and shown_source(0) == 0
    with Camera("http://admin:s3cret@127.0.0.1:9/stream.mjpg", timeout_s=0.5, reconnect_s=0.2) as camera:
        with pytest.raises(CaptureError) as failed:
            camera.capture()
        assert camera.last_error and "s3cret" not in camera.last_error and "s3cret" not in str(failed.value) + failed.value.detail
        assert "127.0.0.1:9" in camera.last_error


def test_sources() -> None:
    assert parse_source("0") == (0, cv2.CAP_V4L2)
    assert parse_source("/dev/video2") == ("/dev/video2", cv2.CAP_V4L2)
    assert parse_source("http://127.0.0.1:1/stream.mjpg")[1] == cv2.CAP_FFMPEG
    with pytest.raises(ValueError):
        parse_source(" ")


def test_camera_places_files_and_clears(served: ServedCamera, tmp_path) -> None:  # type: ignore[no-untyped-def]
    page = tmp_path / "original.png"
    cv2.imwrite(str(page), pages.render_page(pages.random_spec(4)).image)
    state = served.control(op="place", file=str(page))
    assert state["source"] == "file:original.png"
    assert served.control(op="stamp")["stamps"]
    assert served.control(op="clear")["source"] == "empty"
    assert served.control(op="stamp")["stamps"] == []  # stamping the bare desk leaves nothing
    with pytest.raises(ValueError):
        served.control(op="place", spec={"amount_fen": 1.5})


@pytest.mark.parametrize("settle", [1, 2])
def test_a_reader_that_fell_behind_does_not_hand_out_frames_from_before_the_stamp(settle: int) -> None:
    # At 2 frames a second the stream's frames are 500 ms apart, and the backlog's, decoded back to back, a few
    # tens of ms: the camera must tell the two apart. (At 5 a second, two full suites side by side with other
    # work on 2 cores once decoded a backlog frame in over 100 ms, half the interval, and took it for fresh:
    # the heuristic's stated bound, decoding well under half the interval, must hold for the test to mean it.)
    served = ServedCamera(fps=2)
    served.control(op="place", seed=5)
    with contextlib.closing(served), Camera(served.server.url, settle=settle, timeout_s=10) as camera:
        assert camera.wait_ready(10)
        camera.capture()  # the stream's pace is known
        # The reader thread gets no chance to run (here: its lock is held) while the stream keeps
        # sending; the seal comes down at the end of the stall, and the frames that then come out
        # of the buffers, back to back, all show the page before it.
        with camera._cond:
            time.sleep(3)
            state = served.control(op="stamp")
            pressed = time.monotonic()
        after = cv2.imdecode(np.frombuffer(camera.capture(after=pressed), np.uint8), cv2.IMREAD_COLOR)
        mark = find_seal(after, seal_zone())
        assert mark.found and mark.inside_area
        x, y = state["stamps_in_frame"][0]  # type: ignore[index]
        assert abs(mark.center[0] - x) < 15 and abs(mark.center[1] - y) < 15  # type: ignore[index]
