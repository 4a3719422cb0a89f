"""The person at the desk: when the face camera photographs, who may see it, and when a photo is deleted.

The seed's 管 step photographs "the applicant and the stamped document": beside the desk camera over the page
(edge/seal/evidence.py), a face camera photographs whoever holds the seal when the grant opens the lock and again
at the grant's last press. Each photo is its own ledger entry naming the image's SHA-256; the image is personal
data, so it is seen only by the seal's custodian, the approvers of that request and the supervisors, kept for a
configured number of days (``[camera] person_retention_days``) and then deleted, its hash staying in the ledger.
The notice board never shows it.

Pure decisions over entries and requests; the camera, the store and the recording are edge/seal/personcam.py's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.ledger import Entry
from edge.seal.db import RequestView

# -- entry kinds (registered with the seal's in edge/seal/projection.py) ----------------------------------

PERSON_PHOTO = "photo.person"  # the face camera's photo: sha256, faces found (no_person when none)
PERSON_CAPTURE_FAILED = "photo.person_failed"  # no photo could be taken: an anomaly, as for pages
PERSON_PHOTO_DELETED = "photo.person_deleted"  # the retention ran out: the image is deleted, its hash stays
KINDS = {PERSON_PHOTO: "盖章人照片", PERSON_CAPTURE_FAILED: "未拍到盖章人", PERSON_PHOTO_DELETED: "盖章人照片到期删除"}

#: The moments the face camera photographs, in Chinese.
MOMENTS = {"unlock": "开锁时", "last_press": "最后一次盖章时"}

# The device events recorded by edge/seal/devices.py (seal.<event kind>) that the moments follow.
UNLOCKED = "seal.unlocked"
PRESS = "seal.press"


def moment_of(kind: str, event: dict[str, Any], presses: int) -> str | None:
    """Whether a recorded device event of a grant approved for ``presses`` calls for a photo of the person.

    The unlock, and the press that uses up the grant (``n`` counts the grant's presses from 1): the first shows
    who took the seal, the last who still held it at the end."""
    if kind == UNLOCKED:
        return "unlock"
    if kind == PRESS and event.get("n") == presses:
        return "last_press"
    return None


def may_see_person(request: RequestView, person_id: str | None, roles: Collection[str]) -> bool:
    """Whether an account (its roster person and roles as they apply on this edge) may see the person photos of
    ``request``: a supervisor, the request's custodian, or an approver on its route. Not the applicant as such,
    not the village staff or an administrator: the photo shows a face, not the page."""
    if "supervisor" in roles:
        return True
    if person_id is None:
        return False
    if person_id == request.custodian and "custodian" in roles:
        return True
    return "approver" in roles and person_id in request.route.get("approvers", ())


def _utc(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def due_for_deletion(taken: Iterable[Entry], deleted: Iterable[Entry], now: datetime, days: int) -> list[Entry]:
    """The person photos whose image is to be deleted at ``now``: taken ``days`` days ago or longer, not yet
    deleted. One per image: the same bytes taken twice are kept until the later taking runs out too."""
    gone = {str(e.body.get("sha256")) for e in deleted}
    last: dict[str, Entry] = {}
    for entry in taken:
        sha = str(entry.body.get("sha256"))
        if sha not in gone and (sha not in last or entry.index > last[sha].index):
            last[sha] = entry
    keep = timedelta(days=days)
    return [e for e in last.values() if now - _utc(e.ts) >= keep]


@dataclass(frozen=True)
class PersonPhoto:
    """One moment's photo of a request, as the request page shows it."""

    moment: str
    moment_name: str
    at: str
    press_no: int | None
    sha256: str | None  # None: none was taken
    faces: int | None
    anomaly: str | None  # no_person, person_capture_failed, face_detector_missing
    reason: str | None  # why none was taken
    deleted_at: str | None  # the retention ran out: only the hash is left

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def person_photos(entries: Iterable[Entry], request_id: str) -> list[PersonPhoto]:
    """The person photos (taken, failed, deleted) of one request, in the order of the events they follow (taken in
    parallel, the unlock's may be recorded after the last press's)."""
    deleted: dict[str, str] = {}
    shown: list[Entry] = []
    for e in sorted(entries, key=lambda e: e.index):
        if e.kind == PERSON_PHOTO_DELETED:
            deleted[str(e.body.get("sha256"))] = e.ts
        elif e.body.get("request_id") == request_id and e.kind in (PERSON_PHOTO, PERSON_CAPTURE_FAILED):
            shown.append(e)
    result = []
    for e in sorted(shown, key=lambda e: (e.body.get("trigger_entry") or e.index, e.index)):
        b = e.body
        moment = str(b.get("moment"))
        sha = b.get("sha256") if e.kind == PERSON_PHOTO else None
        result.append(
            PersonPhoto(
                moment, MOMENTS.get(moment, moment), e.ts, b.get("press_no"), sha, b.get("faces"), b.get("anomaly"),
                b.get("reason"), deleted.get(str(sha)) if sha else None,
            )
        )  # fmt: skip
    return result
