"""The camera over the stamping desk: kept open, read continuously, a fresh frame on demand.

Opening a camera takes from a tenth of a second (an MJPEG URL) to seconds (a
USB camera negotiating its format), so the edge opens it once and a
background thread keeps reading: the newest frames sit in a small ring with
the time they arrived. :meth:`Camera.capture` returns a frame taken *after*
the trigger (by default the ``settle``-th such frame, so a frame already in
flight when the seal came down is never taken for the photo of the stamp), as
JPEG bytes. When the stream fails the thread reopens it; a capture that
cannot be served in time raises :class:`CaptureError`, which the caller
records as a flagged ledger entry (a missing photo is never silent).

"Arrived after the trigger" is not "taken after the trigger": when the reader
falls behind (the CPU busy, the thread not scheduled), a network stream keeps
sending and the frames wait in socket and FFmpeg buffers; once the reader runs
again they come out back to back, each as old as the backlog. So a frame only
counts for a photo when the reader had to wait for it: its read blocked for at
least half the stream's usual wait (the median before the trigger). A queued
frame is there at once and takes only its decoding; a camera that is merely
slow is slow all the time, which moves the median with it. The time a stalled
reader spent *between* reads does not count as waiting, so the first frame
after a stall is not taken for a fresh one either. This tells the two apart
while decoding a frame takes well under half the interval: hostsim's 1600x2200
JPEG takes 12-40 ms here and comes every 100 ms; a desk camera sends one every
33-100 ms.

Sources, from configuration: ``0`` (a V4L2 device index), ``/dev/video0``, or
a URL such as ``http://127.0.0.1:8081/stream.mjpg`` (OpenCV's FFmpeg backend
reads multipart MJPEG, which IP cameras and hostsim's virtual camera serve).
"""

from __future__ import annotations

import collections
import logging
import math
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Self

import cv2
import numpy as np

log = logging.getLogger("edge.capture")


class CaptureError(RuntimeError):
    """No fresh frame could be had (camera unplugged, stream down, timed out).

    ``str()`` is the reason in Chinese, as a request's page shows it; ``detail`` is what went wrong, in the
    words of the stream, for a technician.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.detail = detail


#: Why a photo owed by an earlier run was never taken (the edge stopped between the event and the shot).
STOPPED_BEFORE_CAPTURE = {"reason": "拍照前边缘代理停止，未拍照", "detail": "the edge stopped before capturing"}


def capture_failure(exc: CaptureError | OSError) -> dict[str, str]:
    """What a failed shot records: the reason a page shows, and the detail for a technician."""
    if isinstance(exc, CaptureError):
        return {"reason": str(exc), "detail": exc.detail}
    return {"reason": "照片无法保存", "detail": str(exc)}  # the photo store's disk


def parse_source(source: str | int) -> tuple[str | int, int]:
    """The argument for ``cv2.VideoCapture`` and the backend to use."""
    if isinstance(source, int) or (isinstance(source, str) and source.strip().isdigit()):
        return int(source), cv2.CAP_V4L2
    source = source.strip()
    if not source:
        raise ValueError("empty camera source")
    if source.startswith("/dev/"):
        return source, cv2.CAP_V4L2
    if "://" in source:
        return source, cv2.CAP_FFMPEG
    return source, cv2.CAP_ANY  # a video file, for replaying a recorded desk


def shown_source(source: str | int) -> str | int:
    """``source`` fit to show: an IP camera's URL loses the user and password it may carry."""
    if not isinstance(source, str) or "://" not in source:
        return source
    parts = urllib.parse.urlsplit(source)
    if parts.username is None and parts.password is None:
        return source
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass
class Frame:
    seq: int
    at: float  # time.monotonic() when it arrived
    wait: float  # seconds the reader's read blocked for it (inf for the first after opening: unknown)
    image: np.ndarray


def _waited_for(wait: float, pace: float) -> bool:
    """Did the reader wait for this frame, rather than find it queued? (The first of a connection: unknown, no.)"""
    return math.isfinite(wait) and wait >= pace / 2


# How many reads the camera remembers to learn the stream's pace (a few seconds' worth).
PACE_HISTORY = 64


class Camera:
    """A warm camera; thread-safe. ``start()`` once, ``capture()`` per press, ``stop()`` at the end."""

    def __init__(
        self,
        source: str | int,
        settle: int = 2,
        timeout_s: float = 5.0,
        reconnect_s: float = 1.0,
        jpeg_quality: int = 92,
        keep: int = 8,
    ) -> None:
        self.source, self._api = parse_source(source)
        self.shown = shown_source(self.source)  # for logs and the console: no password from the URL
        self.settle = max(1, settle)
        self.timeout_s = timeout_s
        self.reconnect_s = reconnect_s
        self.jpeg_quality = jpeg_quality
        self._frames: collections.deque[Frame] = collections.deque(maxlen=max(keep, self.settle + 1))
        self._waits: collections.deque[tuple[float, float]] = collections.deque(maxlen=PACE_HISTORY)  # (at, wait)
        self._cond = threading.Condition()
        self._seq = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = False
        self.last_error: str | None = None
        self.reconnects = 0

    # -- running ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="camera-reader", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open(self) -> cv2.VideoCapture | None:
        cap = cv2.VideoCapture(self.source, self._api)
        if not cap.isOpened():
            cap.release()
            return None
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # V4L2: hand out the newest frame, not a queue of old ones
        return cap

    def _run(self) -> None:
        cap: cv2.VideoCapture | None = None
        first = True
        while not self._stop.is_set():
            if cap is None:
                first = True  # the first read of a connection also waits for the stream to start
                cap = self._open()
                if cap is None:
                    self._set_down(f"无法打开摄像头 {self.shown}", f"cannot open camera {self.shown!r}")
                    self._stop.wait(self.reconnect_s)
                    continue
                if self.last_error is not None:
                    self.reconnects += 1
                    log.info("camera %s reopened", self.shown)
                self.connected = True
                self.last_error = None
            started = time.monotonic()
            ok, image = cap.read()
            now = time.monotonic()
            if not ok or image is None:
                cap.release()
                cap = None
                self._set_down(f"摄像头 {self.shown} 不再传送画面", f"camera {self.shown!r} stopped delivering frames")
                self._stop.wait(self.reconnect_s)
                continue
            wait = math.inf if first else now - started
            first = False
            with self._cond:
                self._seq += 1
                self._frames.append(Frame(self._seq, now, wait, image))
                self._waits.append((now, wait))
                self._cond.notify_all()
        if cap is not None:
            cap.release()
        self.connected = False

    def _set_down(self, message: str, english: str) -> None:
        """The camera is down: ``message`` (Chinese, with the address) is what the device page shows."""
        if self.connected or self.last_error != message:
            log.warning("%s %s", message, english)
        self.connected = False
        self.last_error = message
        with self._cond:
            self._cond.notify_all()

    # -- taking a photo ----------------------------------------------------------------------

    def wait_ready(self, timeout_s: float | None = None) -> bool:
        """Block until a first frame arrived (True) or ``timeout_s`` passed (False)."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            while not self._frames:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def frame(self, after: float | None = None, timeout_s: float | None = None) -> Frame:
        """The ``settle``-th frame taken after ``after`` (a ``time.monotonic()``; default now).

        Only frames the reader waited for count (see the module docstring); if
        the caller was slow to look, a later one is returned, never an earlier.
        """
        if self._thread is None:
            raise CaptureError("相机未启动", "camera not started")
        after = time.monotonic() if after is None else after
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            while True:
                pace = self._pace(after)
                if pace is not None:
                    waited = [at for at, wait in self._waits if at > after and _waited_for(wait, pace)]
                    if len(waited) >= self.settle:
                        fresh = [f for f in self._frames if f.at > after and _waited_for(f.wait, pace)]
                        if fresh:
                            return fresh[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stop.is_set():
                    why = self.last_error or "no new frame"
                    within = f"{self.timeout_s:g}"
                    raise CaptureError(f"相机 {within} 秒内没有新画面", f"no fresh frame within {within} s: {why}")
                self._cond.wait(min(remaining, 0.5))

    def _pace(self, after: float) -> float | None:
        """How long a read usually waits for the next frame: learned before ``after``, where a backlog
        cannot be (only a trigger before the stream's second frame has to go by what came since)."""
        before = [wait for at, wait in self._waits if at <= after and math.isfinite(wait)]
        if not before:
            before = [wait for _, wait in self._waits if math.isfinite(wait)]
        return statistics.median(before) if before else None

    def capture(self, after: float | None = None, timeout_s: float | None = None) -> bytes:
        """A fresh frame (see :meth:`frame`) as JPEG bytes; :class:`CaptureError` when there is none."""
        frame = self.frame(after, timeout_s)
        ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise CaptureError("照片编码失败", "JPEG encoding failed")
        return bytes(buf)
