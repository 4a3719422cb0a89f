"""Photo evidence for every press: capture, store, OCR, compare, record — off the press path.

The order of things for one press:

1. The device link records the ``seal.press`` event (the press is in the
   ledger before anything here runs: this module only *observes* committed
   entries, see :meth:`Recorder.subscribe`).
2. A task takes a fresh frame from the warm camera (in a thread, never on the
   device link's reader thread), stores it content-addressed, and records
   ``photo.taken`` naming the SHA-256. If no frame can be had it records
   ``photo.capture_failed`` with an anomaly: a missing photo is never silent.
3. A worker process (``ProcessPoolExecutor``) OCRs the photo and compares it
   with the approved original; ``photo.ocr`` (text, fields, seal) and
   ``photo.check`` (match, score, flags; an anomaly when flagged) follow as
   their own entries, and the page goes into the search index.

The original document of a request is OCR'd once (``document.ocr``), and looked up from the ledger after a
restart: at filing (``seal_request.filed`` with ``"reading"``), after which the request's route is frozen by the
larger of the declared and the read amount (``seal_request.routed``, edge/seal/reading.py); a request filed
before originals were read at filing is read when it is approved.
At start the ledger is swept for presses that never got a photo entry (the
edge died in between: recorded as ``photo.capture_failed``), photos that
never got their OCR and requests still waiting for their original to be read
(both done now).
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from edge.kernel.config import SEAL_NAMES, EdgeConfig
from edge.kernel.documents import document_path
from edge.kernel.recorder import Recorder
from edge.ledger import Entry, utc_now
from edge.ocr.impression import ExpectedSeal
from edge.ocr.search import SearchIndex
from edge.ocr.settings import CameraSettings
from edge.seal import projection as P
from edge.seal.capture import STOPPED_BEFORE_CAPTURE, Camera, CaptureError, capture_failure
from edge.seal.db import READING, EdgeDB, RequestView
from edge.seal.desk import SealDesk
from edge.seal.photos import PhotoStore
from edge.seal.reading import route_after_read

log = logging.getLogger("edge.evidence")

PHOTO, CAPTURE_FAILED, PHOTO_OCR, PHOTO_CHECK, DOCUMENT_OCR = (
    P.PHOTO, P.CAPTURE_FAILED, P.PHOTO_OCR, P.PHOTO_CHECK, P.DOCUMENT_OCR
)  # fmt: skip
PRESS = P.seal_kind("press")


# -- what the worker processes run (plain functions: they cross a process boundary) ---------------


def _worker_init() -> None:
    """OCR is background work: the press path (device link, ledger) must never wait for a CPU.

    A lower priority alone does not ensure that: with the agent on one core and two OCR workers at nice 10 (or
    even SCHED_IDLE) beside it, press → ledger p99 went from 37 to 60 ms (benchmarks/bench_edge.py). So where
    there are two cores or more the workers also keep off the first, which stays free for the agent (and, on a
    Raspberry Pi, for the USB interrupts of the seal's serial link); with them on the others, p99 was 38-44 ms.
    """
    os.nice(10)
    cores = os.sched_getaffinity(0)
    if len(cores) > 1:
        os.sched_setaffinity(0, cores - {min(cores)})


def _warm_up(backend: str) -> bool:
    from edge.ocr.backends import get_backend

    get_backend(backend)
    return True


def ocr_document_job(path: str, backend: str, max_pixels: int) -> dict[str, Any]:
    """OCR an original document (an image, or a PDF's pages, of at most ``max_pixels`` each): the first page's
    reading, with every page's under ``pages`` when there are more; ``{"error": ...}`` when it cannot be read."""
    from edge.ocr.pipeline import read_document
    from edge.ocr.preprocess import ImageError
    from edge.ocr.types import OcrUnavailable

    try:
        readings = read_document(path, backend, max_pixels=max_pixels)
    except (ImageError, OcrUnavailable, ValueError) as exc:
        return {"error": str(exc)}
    first = readings[0].to_dict()
    if len(readings) > 1:
        first["pages"] = [{k: v for k, v in r.to_dict().items() if k != "seconds"} for r in readings]
        first["seconds"] = sum(r.seconds for r in readings)
    return first


def ocr_photo_job(
    path: str,
    original: dict[str, Any] | None,
    area: tuple[int, int, int, int] | None,
    backend: str,
    seal: ExpectedSeal | None = None,
) -> dict[str, Any]:
    """OCR a photo of a stamped page and compare it with the original's reading; read the impression found
    on it and compare that with ``seal``, the seal of the device that pressed (under ``impression``)."""
    from edge.ocr.backends import get_backend
    from edge.ocr.impression import check_impression, read_impression
    from edge.ocr.pipeline import Reading, best_match, read_image
    from edge.ocr.preprocess import ImageError, load
    from edge.ocr.types import OcrUnavailable

    try:
        image = load(path)
        reading = read_image(image, backend, area)
        impression = (
            read_impression(image, reading.seal, get_backend(backend), seal)
            if seal is not None and reading.seal.found else None
        )  # fmt: skip
    except (ImageError, OcrUnavailable, ValueError) as exc:
        return {"error": str(exc)}
    result: dict[str, Any] = {"reading": reading.to_dict()}
    if original is not None and "error" not in original:
        pages = [Reading.from_dict(page) for page in original.get("pages") or [original]]
        result["check"] = best_match(pages, reading).to_dict()
    if impression is not None and seal is not None:
        result["impression"] = {**impression.to_dict(), **check_impression(impression, seal).to_dict()}
    return result


# -- ledger bodies (integers, strings, booleans: the ledger takes no floats) ---------------------


def _reading_body(reading: dict[str, Any]) -> dict[str, Any]:
    return {
        "backend": reading["backend"],
        "text": reading["text"],
        "fields": reading["fields"],
        "seal": reading["seal"],
        "ink_ppm": int(reading["ink_ppm"]),
        "ms": round(float(reading["seconds"]) * 1000),
    }


class Evidence:
    """The photo-evidence service of one edge agent."""

    def __init__(
        self,
        config: EdgeConfig,
        settings: CameraSettings,
        recorder: Recorder[EdgeDB],
        camera: Camera | None = None,
        desk: SealDesk | None = None,
    ) -> None:
        """``desk``: the request desk whose filings this service reads (and routes) before anyone decides them."""
        self.config = config
        self.desk = desk
        self.settings = settings
        self.recorder = recorder
        self.ledger = recorder.ledger
        self.camera = camera or Camera(settings.source, settle=settings.settle_frames, timeout_s=settings.timeout_s)
        self.photos = PhotoStore(config.data_dir)
        self.index: SearchIndex | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._originals: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._routings: dict[str, asyncio.Future[None]] = {}
        self._unsubscribe: Any = None
        self._requests: dict[str, RequestView] = {}
        self._waiting: list[tuple[list[tuple[str, dict[str, Any]]], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self.captures = 0
        self.capture_failures = 0
        self._shot = asyncio.Condition()  # notified after each capture, taken or failed

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.camera.start()
        self.index = await asyncio.to_thread(SearchIndex.for_data_dir, self.config.data_dir)
        # spawn, not fork: the agent has threads (device links, the camera reader) a fork would copy mid-step
        self._pool = ProcessPoolExecutor(
            self.settings.ocr_workers, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init
        )
        for _ in range(self.settings.ocr_workers):
            self._pool.submit(_warm_up, self.settings.ocr_backend)
        await self._sweep()
        self._unsubscribe = self.recorder.subscribe(self._observe)
        if self.desk is not None:
            self.desk.reader = self._route
        log.info(
            "photo evidence on: camera %s, OCR %s x%d",
            self.camera.shown,
            self.settings.ocr_backend,
            self.settings.ocr_workers,
        )

    async def close(self, drain_s: float = 30.0) -> None:
        """Stop observing; let started work finish (up to ``drain_s``), then stop the camera and the pool."""
        if self._closing:
            return
        self._closing = True
        if self.desk is not None:
            self.desk.reader = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain_s)
            for task in pending:
                task.cancel()  # their photos are stored; the OCR is redone at the next start
            if pending:
                await asyncio.wait(pending, timeout=5)
        futures: list[asyncio.Future[Any]] = [*self._originals.values(), *self._routings.values()]
        reading = [f for f in futures if not f.done()]
        for future in reading:
            future.cancel()  # read again (lazily) after the next start
        if reading:
            await asyncio.wait(reading, timeout=5)
        await asyncio.to_thread(self.camera.stop)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self.index is not None:
            self.index.close()
            self.index = None

    def status(self) -> dict[str, Any]:
        """The desk camera and this run's photos, for the console: a custodian sees a dead camera before pressing."""
        return {
            "connected": self.camera.connected,
            "last_error": self.camera.last_error,
            "reconnects": self.camera.reconnects,
            "captures": self.captures,
            "capture_failures": self.capture_failures,
            "in_progress": len(self._tasks),
            "ocr_backend": self.settings.ocr_backend,
        }

    @property
    def shots(self) -> int:
        """Presses of this run whose capture is over: photo taken or failure recorded."""
        return self.captures + self.capture_failures

    async def photographed(self, shots: int, timeout: float) -> bool:
        """Wait until :attr:`shots` reaches ``shots``; False when ``timeout`` passed first."""
        async with self._shot:
            try:
                await asyncio.wait_for(self._shot.wait_for(lambda: self.shots >= shots), timeout)
            except TimeoutError:
                return False
        return True

    async def idle(self, timeout: float = 120.0) -> None:
        """Wait until no capture or OCR is in progress (tests, the demo)."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"photo evidence still busy after {timeout} s ({len(self._tasks)} tasks)")
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def _record(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Record entries, batched with whatever else is waiting: one ledger commit for a burst of
        photos, so fifty presses in a row leave the writer free for the presses themselves."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((items, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.ensure_future(self._write_batches())
        await future

    async def _write_batches(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self.recorder.step():
                    await self.recorder.record_many([item for items, _ in batch for item in items])
            except Exception as exc:  # noqa: BLE001  (handed to every waiter, who reports it)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- observing the ledger ------------------------------------------------------------------

    def _observe(self, entries: Sequence[Entry]) -> None:
        """Called on the event loop right after a step is committed: start work, never wait here."""
        if self._closing:
            return
        pressed = time.monotonic()
        for entry in entries:
            if entry.kind == PRESS:
                self._spawn(self._photograph(entry, pressed))
            elif entry.kind == P.FILED and entry.body.get("reading"):
                self._route(str(entry.body["request_id"]))
            elif entry.kind == P.APPROVED_KIND:
                self._original(str(entry.body["request_id"]))

    # -- one press -------------------------------------------------------------------------------

    async def _photograph(self, press: Entry, pressed: float) -> None:
        b = press.body
        about = {
            "device_id": b.get("device_id"),
            "request_id": b.get("request_id"),
            "grant_no": b.get("grant_no"),
            "event_id": b.get("event_id"),
            "press_no": (b.get("event") or {}).get("n"),
            "press_entry": press.index,
        }
        try:
            jpeg = await asyncio.to_thread(self.camera.capture, pressed)
            sha = await asyncio.to_thread(self.photos.put, jpeg)
        except (CaptureError, OSError) as exc:
            self.capture_failures += 1
            await self._shot_over()
            log.warning("press %s: no photo: %s", press.index, exc)
            await self._record([(CAPTURE_FAILED, {**about, **capture_failure(exc), "anomaly": "capture_failed"})])
            return
        self.captures += 1
        await self._shot_over()
        await self._record([(PHOTO, {**about, "sha256": sha, "bytes": len(jpeg)})])
        await self._check(about, sha)

    async def _shot_over(self) -> None:
        async with self._shot:
            self._shot.notify_all()

    async def _check(self, about: dict[str, Any], sha: str) -> None:
        """OCR a stored photo in a worker, compare it with the original, record both, index the text."""
        request_id = about.get("request_id")
        original = await self._original(str(request_id)) if request_id else None
        seal = await self._expected_seal(str(request_id)) if request_id else None
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self._pool,
            ocr_photo_job,
            str(self.photos.path(sha)),
            original,
            self.settings.monitored_area,
            self.settings.ocr_backend,
            seal,
        )
        base = {
            "photo": sha,
            "request_id": request_id,
            "press_no": about.get("press_no"),
            "press_entry": about.get("press_entry"),
        }
        if "error" in result:
            items: list[tuple[str, dict[str, Any]]] = [
                (PHOTO_OCR, {**base, "error": result["error"], "anomaly": "ocr_failed"})
            ]
            flags: list[str] = ["ocr_failed"]
            reading = None
        else:
            reading = result["reading"]
            check = result.get("check")
            if check is None:
                flags = ["no_original"]
                check_body: dict[str, Any] = {"match": False, "score_permille": 0, "flags": flags}
            else:
                flags = list(check["flags"])
                check_body = {
                    "match": bool(check["match"]),
                    "score_permille": round(check["score"] * 1000),
                    "flags": flags,
                }
            impression = result.get("impression")
            if impression is not None:
                # what the ring and the kind line read, and against what; an impression read as neither this
                # seal nor another (seal_unreadable, about one photo in four) stays here, as no flag: a flag is
                # evidence of something wrong
                check_body["impression"] = impression
                if impression["flag"] == "wrong_seal":
                    flags.append("wrong_seal")
            if "wrong_seal" in flags:
                # its own anomaly: the page may be the original, the press is still not this device's seal's
                check_body.update(match=False, anomaly="wrong_seal")
            elif flags:
                check_body["anomaly"] = "photo_mismatch"
            document = await self._document_sha(str(request_id)) if request_id else None
            items = [
                (PHOTO_OCR, {**base, **_reading_body(reading)}),
                (PHOTO_CHECK, {**base, "document": document, **check_body}),
            ]
        await self._record(items)
        if flags:
            log.warning("photo %s of request %s flagged: %s", sha[:12], request_id, ", ".join(flags))
        if reading is not None and self.index is not None:
            await self._index(about, sha, reading, flags)

    async def _index(self, about: dict[str, Any], sha: str, reading: dict[str, Any], flags: list[str]) -> None:
        request = await self._request(str(about["request_id"])) if about.get("request_id") else None
        assert self.index is not None
        await asyncio.to_thread(
            self.index.add,
            sha,
            self.config.village,
            request.seal if request is not None else "",
            utc_now(),
            reading["text"],
            reading["fields"].get("title"),
            reading["fields"].get("amount_fen"),
            flags,
            about.get("request_id"),
            about.get("device_id"),
            about.get("press_no"),
        )

    # -- the approved original ---------------------------------------------------------------------

    async def _request(self, request_id: str) -> RequestView | None:
        """A request as filed (its seal and document do not change), read once."""
        request = self._requests.get(request_id)
        if request is None:
            async with self.recorder.step():  # the database is shared with the recording steps
                request = await self.recorder.db.request(request_id)
            if request is not None:
                if len(self._requests) > 256:
                    self._requests.clear()
                self._requests[request_id] = request
        return request

    async def _expected_seal(self, request_id: str) -> ExpectedSeal | None:
        """The seal the request's device holds, as configured: this village's, of the device's kind."""
        request = await self._request(request_id)
        device = next((d for d in self.config.devices if request and d.name == request.device_name), None)
        if device is None:
            return None
        return ExpectedSeal(self.config.village, SEAL_NAMES[device.seal], tuple(SEAL_NAMES.values()))

    async def _document_sha(self, request_id: str) -> str | None:
        request = await self._request(request_id)
        if request is None:
            return None
        document = request.document if isinstance(request.document, dict) else {}
        sha = document.get("sha256")
        return str(sha) if sha else None

    def _original(self, request_id: str) -> asyncio.Future[dict[str, Any] | None]:
        """The reading of a request's original: from the ledger, or OCR'd now (once) and recorded."""
        future = self._originals.get(request_id)
        if future is None:
            future = asyncio.ensure_future(self._read_original(request_id))
            self._originals[request_id] = future
            if len(self._originals) > 256:  # forget the oldest finished ones
                for key in [k for k, f in self._originals.items() if f.done()][:64]:
                    del self._originals[key]
        return future

    def _route(self, request_id: str) -> asyncio.Future[None]:
        """Read a request filed in READING and record its route (once); done when recorded."""
        future = self._routings.get(request_id)
        if future is None:
            future = asyncio.ensure_future(self._read_and_route(request_id))
            self._routings[request_id] = future
            future.add_done_callback(lambda f: self._routings.pop(request_id, None))
        return future

    async def _read_and_route(self, request_id: str) -> None:
        if self.desk is None:
            return
        try:
            reading = await self._original(request_id)
            error = None if reading is not None else await self._read_error(request_id)
            async with self.recorder.step():
                request = await self.recorder.db.request(request_id)
                if request is None or request.status != READING:
                    return  # routed already (a second start raced this one)
                kind, body = route_after_read(self.desk.config, request, reading, error)
                await self.recorder.record(kind, body)
        except Exception:  # noqa: BLE001  (the request stays READING: read again at the next start)
            log.exception("request %s: reading its original failed", request_id)
            return
        log.info("request %s routed after reading its original: %s", request_id, body.get("read"))

    async def _read_error(self, request_id: str) -> str | None:
        """Why the original of a request could not be read, as recorded."""
        for entry in reversed(await self.ledger.entries_of_kind(DOCUMENT_OCR)):
            if entry.body.get("request_id") == request_id:
                return str(entry.body.get("error") or "") or None
        return "原件不在本机 the original is not in the document store"

    async def _read_original(self, request_id: str) -> dict[str, Any] | None:
        for entry in reversed(await self.ledger.entries_of_kind(DOCUMENT_OCR)):
            if entry.body.get("request_id") == request_id:
                return None if "error" in entry.body else dict(entry.body["reading"])
        sha = await self._document_sha(request_id)
        if sha is None:
            return None
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        path = document_path(self.config.data_dir, sha)
        reading = await loop.run_in_executor(
            self._pool, ocr_document_job, str(path), self.settings.ocr_backend, self.config.web.max_page_pixels
        )
        body: dict[str, Any] = {"request_id": request_id, "document": sha}
        if "error" in reading:
            body.update(error=reading["error"], anomaly="original_unreadable")
        else:
            stored = _reading_body(reading)
            body["reading"] = {k: v for k, v in reading.items() if k != "seconds"}  # kept whole for comparisons
            body.update(
                title=stored["fields"].get("title"), amount_fen=stored["fields"].get("amount_fen"), ms=stored["ms"]
            )
        async with self.recorder.step():
            await self.recorder.record(DOCUMENT_OCR, body)
        return None if "error" in reading else dict(body["reading"])

    # -- after a restart ---------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """Presses of a run with the camera on but without a photo or a recorded failure become flagged
        failures (presses of runs without a camera never had one coming); photos without OCR are read now.

        The working database's press_photos says what is missing, so a start costs that, not a pass
        over every press and photo the ledger ever recorded.
        """
        starts = await self.ledger.entries_of_kind(P.AGENT_STARTED)
        start_at = [s.index for s in starts]
        with_camera = [s.index for s in starts if s.body.get("camera")]
        async with self.recorder.step():
            owed = await self.recorder.db.presses_without_photo(with_camera[0]) if with_camera else []
            unread = await self.recorder.db.photos_without_ocr()
        missing = []
        for press in owed:
            run = bisect.bisect_left(start_at, press["entry"]) - 1  # the agent start this press was recorded in
            if run < 0 or not starts[run].body.get("camera"):
                continue
            missing.append(
                (
                    CAPTURE_FAILED,
                    {
                        "device_id": press["device_id"], "request_id": press["request_id"], "grant_no": press["grant_no"],
                        "event_id": press["event_id"], "press_no": press["n"], "press_entry": press["entry"],
                        **STOPPED_BEFORE_CAPTURE, "anomaly": "capture_failed",
                    },
                )
            )  # fmt: skip
        if missing:
            log.warning("%d press(es) have no photo: recording that", len(missing))
            async with self.recorder.step():
                await self.recorder.record_many(missing)
        async with self.recorder.step():
            reading = await self.recorder.db.requests(status=READING)
        for request in reading:
            self._route(request.id)
        for photo in unread:
            sha = photo["photo"]
            if sha in self.photos:
                about = {
                    "device_id": photo["device_id"], "request_id": photo["request_id"],
                    "press_no": photo["n"], "press_entry": photo["press_entry"],
                }  # fmt: skip
                self._spawn(self._check(about, str(sha)))


async def photo_summary(ledger: Any, request_id: str) -> dict[str, Any]:
    """Photos, OCR checks and capture failures recorded for one request's presses."""
    photos = [e for e in await ledger.entries_of_kind(PHOTO) if e.body.get("request_id") == request_id]
    checks = [e for e in await ledger.entries_of_kind(PHOTO_CHECK) if e.body.get("request_id") == request_id]
    failed = [e for e in await ledger.entries_of_kind(CAPTURE_FAILED) if e.body.get("request_id") == request_id]
    return {
        "photos": len(photos),
        "photos_checked": len(checks),
        "photos_matched": sum(1 for e in checks if e.body.get("match")),
        "photo_flags": sorted({f for e in checks for f in e.body.get("flags", [])}),
        "captures_failed": len(failed),
    }
