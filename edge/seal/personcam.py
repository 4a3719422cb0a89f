"""The face camera beside the desk: photographs the person holding the seal, records each photo, deletes old ones.

Like the page photos (edge/seal/evidence.py) it only *observes* committed entries: when ``seal.unlocked`` or a
grant's last ``seal.press`` is in the ledger (edge/seal/person.py decides which), a task takes a fresh frame
from the warm face camera (the same :class:`Camera` as the desk camera: a USB camera or an IP stream), stores it
content-addressed in ``data_dir/person_photos`` (apart from the page photos: another retention, other readers),
looks for a face (edge/ocr/faces.py, OpenCV's Haar cascade) and records ``photo.person`` with the hash and the
faces found; none found is flagged ``no_person``, and the press is never held up or refused for it. No frame is
``photo.person_failed``, an anomaly, as for pages.

The retention sweep runs at start and every ``sweep_every_s`` on its own timer: each image older than
``[camera] person_retention_days`` gets its ``photo.person_deleted`` entry first, then the file goes; the hash
stays in the ledger, so the chain and ``ledger verify`` are untouched. A sweep cut short between the two finds
the entry and deletes the file the next time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.kernel.config import EdgeConfig
from edge.kernel.recorder import Recorder
from edge.ledger import Entry
from edge.ocr.faces import FRONTAL_FACE, Cascade, DetectorMissing, jpeg_faces, load_cascade
from edge.ocr.settings import CameraSettings
from edge.seal.capture import STOPPED_BEFORE_CAPTURE, Camera, CaptureError, capture_failure
from edge.seal.db import EdgeDB, RequestView
from edge.seal.projection import AGENT_STARTED
from edge.seal.person import (
    PERSON_CAPTURE_FAILED,
    PERSON_PHOTO,
    PERSON_PHOTO_DELETED,
    PRESS,
    UNLOCKED,
    PersonPhoto,
    due_for_deletion,
    may_see_person,
    moment_of,
    person_photos,
)
from edge.seal.photos import PhotoStore

log = logging.getLogger("edge.person")

SWEEP_EVERY_S = 6 * 3600.0


class PersonStore(PhotoStore):
    """The person photos: the page photos' store and layout, in a folder of their own."""

    def __init__(self, data_dir: Path | str) -> None:
        super().__init__(data_dir)
        self.root = Path(data_dir) / "person_photos"

    def delete(self, sha256: str) -> bool:
        """Delete an image (its retention ran out); False when it was gone already."""
        try:
            self.path(sha256).unlink()
        except FileNotFoundError:
            return False
        return True


def person_photos_for(
    records: Iterable[Entry], request: RequestView, person_id: str | None, roles: Collection[str]
) -> list[PersonPhoto] | None:
    """The person photos among a request's records (``EdgeAgent.request_records``: taken, failed, deleted), for
    its page; None when the account may not see them (edge/seal/person.py's may_see_person)."""
    if not may_see_person(request, person_id, roles):
        return None
    return person_photos(records, request.id)


def _about(trigger: Entry, moment: str) -> dict[str, Any]:
    """What a person photo's entry says of the event it follows."""
    b = trigger.body
    return {
        "request_id": b["request_id"], "device_id": b.get("device_id"), "grant_no": b.get("grant_no"),
        "event_id": b.get("event_id"), "moment": moment, "press_no": (b.get("event") or {}).get("n"),
        "trigger_entry": trigger.index,
    }  # fmt: skip


class PersonCam:
    """The face-camera service of one edge agent (``[camera] person_source``)."""

    def __init__(
        self,
        config: EdgeConfig,
        settings: CameraSettings,
        recorder: Recorder[EdgeDB],
        camera: Camera | None = None,
        cascade: Path = FRONTAL_FACE,
        sweep_every_s: float = SWEEP_EVERY_S,
    ) -> None:
        assert settings.person_source is not None
        self.settings = settings
        self.recorder = recorder
        self.camera = camera or Camera(settings.person_source, settle=settings.settle_frames, timeout_s=settings.timeout_s)
        self.store = PersonStore(config.data_dir)
        self.cascade_path = cascade
        self.cascade: Cascade | None = None
        self.detector_error: str | None = None
        self.sweep_every_s = sweep_every_s
        self.captures = 0
        self.capture_failures = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Any = None
        self._timer: asyncio.Task[None] | None = None
        self._closing = False

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        try:
            self.cascade = await asyncio.to_thread(load_cascade, self.cascade_path)
        except DetectorMissing as exc:
            # A promised part is missing: said loudly at every start, and on every photo it could not check.
            self.detector_error = str(exc)
            log.error("%s; person photos are taken but not checked for a face", exc)
        self.camera.start()
        await self.sweep()
        await self._owed()
        self._unsubscribe = self.recorder.subscribe(self._observe)
        self._timer = asyncio.create_task(self._sweeping(), name="person photo retention")
        log.info(
            "person photos on: camera %s, kept %d days", self.camera.shown, self.settings.person_retention_days
        )

    async def close(self, drain_s: float = 30.0) -> None:
        if self._closing:
            return
        self._closing = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=drain_s)
            for task in pending:
                task.cancel()
        await asyncio.to_thread(self.camera.stop)

    def status(self) -> dict[str, Any]:
        """The face camera and this run's photos, for the console."""
        return {
            "connected": self.camera.connected,
            "last_error": self.camera.last_error,
            "captures": self.captures,
            "capture_failures": self.capture_failures,
            "detector_error": self.detector_error,
            "retention_days": self.settings.person_retention_days,
        }

    async def idle(self, timeout: float = 60.0) -> None:
        """Wait until no photo is being taken or recorded (tests, the demo); ``TimeoutError`` after ``timeout``."""

        async def drained() -> None:
            while self._tasks:  # a photo may start while another is recorded
                await asyncio.wait(set(self._tasks))  # cut short by the timeout, it leaves the photos running

        await asyncio.wait_for(drained(), timeout)

    # -- photographing ----------------------------------------------------------------------

    def _observe(self, entries: Sequence[Entry]) -> None:
        """Called on the event loop right after a step is committed: start work, never wait here."""
        if self._closing:
            return
        seen = time.monotonic()
        for entry in entries:
            if entry.kind in (UNLOCKED, PRESS) and entry.body.get("request_id"):
                task = asyncio.ensure_future(self._photograph(entry, seen))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _moment(self, trigger: Entry) -> str | None:
        """The moment a recorded unlock or press of a request calls for a photo of, if any."""
        async with self.recorder.step():  # the database is shared with the recording steps
            request = await self.recorder.db.request(str(trigger.body["request_id"]))
        return None if request is None else moment_of(trigger.kind, trigger.body.get("event") or {}, request.presses)

    async def _photograph(self, trigger: Entry, seen: float) -> None:
        b = trigger.body
        moment = await self._moment(trigger)
        if moment is None:
            return
        about = _about(trigger, moment)
        try:
            jpeg = await asyncio.to_thread(self.camera.capture, seen)
            sha = await asyncio.to_thread(self.store.put, jpeg)
        except (CaptureError, OSError) as exc:
            self.capture_failures += 1
            log.warning("request %s %s: no person photo: %s", b["request_id"], moment, exc)
            await self._record([(PERSON_CAPTURE_FAILED, {**about, **capture_failure(exc), "anomaly": "person_capture_failed"})])
            return
        self.captures += 1
        body: dict[str, Any] = {**about, "sha256": sha, "bytes": len(jpeg), "faces": None}
        if self.cascade is None:
            body["anomaly"] = "face_detector_missing"
        else:
            faces = await asyncio.to_thread(jpeg_faces, jpeg, self.cascade)
            body["faces"] = len(faces)
            if not faces:
                body["anomaly"] = "no_person"
                log.warning("request %s %s: no face in the person photo %s", b["request_id"], moment, sha[:12])
        await self._record([(PERSON_PHOTO, body)])

    async def _owed(self) -> None:
        """The last run before this one that had the face camera on, cut short before some of its photos were
        recorded: each missing one becomes a flagged failure now, as the page photos' sweep does (never a gap).

        Each such start looks at the run before it only: that run's own start looked at the one before."""
        starts = await self.recorder.ledger.entries_of_kind(AGENT_STARTED)
        previous = [s for s in starts[:-1] if s.body.get("person_camera")]  # the last start is this run's
        if not previous:
            return
        run = await self.recorder.ledger.entries(previous[-1].index, starts[-1].index)
        done = {e.body.get("trigger_entry") for e in run if e.kind in (PERSON_PHOTO, PERSON_CAPTURE_FAILED)}
        owed = []
        for e in run:
            if e.kind not in (UNLOCKED, PRESS) or not e.body.get("request_id") or e.index in done:
                continue
            moment = await self._moment(e)
            if moment is not None:
                stopped = {**STOPPED_BEFORE_CAPTURE, "anomaly": "person_capture_failed"}
                owed.append((PERSON_CAPTURE_FAILED, {**_about(e, moment), **stopped}))
        if owed:
            log.warning("%d person photo(s) were never taken: recording that", len(owed))
            await self._record(owed)

    async def _record(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        async with self.recorder.step():
            await self.recorder.record_many(items)

    # -- retention ---------------------------------------------------------------------------

    async def _sweeping(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every_s)
            try:
                await self.sweep()
            except Exception:  # noqa: BLE001  (the next round tries again; a sweep never stops the agent)
                log.exception("person photo retention sweep failed")

    async def sweep(self, now: datetime | None = None) -> list[str]:
        """Delete the images whose retention ran out, each recorded first; the hashes deleted now."""
        now = now or datetime.now(UTC)
        ledger = self.recorder.ledger
        taken = await ledger.entries_of_kind(PERSON_PHOTO)
        deleted = await ledger.entries_of_kind(PERSON_PHOTO_DELETED)
        due = due_for_deletion(taken, deleted, now, self.settings.person_retention_days)
        if due:
            await self._record(
                [
                    (
                        PERSON_PHOTO_DELETED,
                        {
                            "sha256": e.body["sha256"], "photo_entry": e.index, "request_id": e.body.get("request_id"),
                            "taken_at": e.ts, "retention_days": self.settings.person_retention_days,
                        },
                    )
                    for e in due
                ]
            )  # fmt: skip
        shas = [str(e.body["sha256"]) for e in due] + [str(e.body.get("sha256")) for e in deleted]
        removed = [sha for sha in shas if await asyncio.to_thread(self.store.delete, sha)]
        if removed:
            log.info("%d person photo(s) past %d days deleted", len(removed), self.settings.person_retention_days)
        return removed
