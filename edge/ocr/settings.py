"""The ``[camera]`` table of the edge's config: where the desk camera is and how photos are checked.

    [camera]
    source = "/dev/video0"            # or 0 (a V4L2 index), or "http://127.0.0.1:8081/stream.mjpg"
    monitored_area = [150, 1090, 1300, 1090]   # x, y, w, h in camera-frame pixels: where seals must land
    ocr_backend = "tesseract"         # or "rapidocr" (pip install 'qinglian[rapidocr]')
    ocr_workers = 1                   # OCR processes beside the agent
    settle_frames = 2                 # the photo is the n-th frame after the press
    timeout_s = 5.0                   # no fresh frame by then: a flagged capture_failed entry
    person_source = "http://127.0.0.1:8082/stream.mjpg"   # the face camera beside the desk (same kinds of source)
    person_retention_days = 1095      # its photos are deleted after this many days; their hashes stay in the ledger

Without the table the edge takes no photos (and says so in its log); without ``person_source`` it photographs
the pages only, not the person at the desk (edge/seal/personcam.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

BACKEND_NAMES = ("tesseract", "rapidocr")


@dataclass(frozen=True)
class CameraSettings:
    source: str
    monitored_area: tuple[int, int, int, int] | None = None
    ocr_backend: str = "tesseract"
    ocr_workers: int = 1
    settle_frames: int = 2
    timeout_s: float = 5.0
    person_source: str | None = None
    person_retention_days: int = 1095  # 3 years, the example


def _source(t: Any, key: str, required: bool) -> str | None:
    """A camera source: a V4L2 index (an integer), a device path or a URL."""
    raw = t.raw.get(key)
    if type(raw) is int:
        t.seen.add(key)
        if raw < 0:
            raise t.fail(key, f"设备序号应 ≥ 0 a device index must be ≥ 0, got {raw}")
        return str(raw)
    return t.string(key, required) or None


def parse_camera(t: Any) -> CameraSettings | None:
    """Read ``[camera]`` (``t`` is the config reader's table; empty when the section is absent)."""
    if not t.raw:
        return None
    d = CameraSettings(source="")
    source = _source(t, "source", required=True) or ""
    area = None
    t.seen.add("monitored_area")
    raw_area = t.raw.get("monitored_area")
    if raw_area is not None:
        if not (isinstance(raw_area, list) and len(raw_area) == 4 and all(type(v) is int and v >= 0 for v in raw_area)):
            raise t.fail("monitored_area", f"应为 [x, y, w, h] 四个非负整数 expected [x, y, w, h], got {raw_area!r}")
        if raw_area[2] == 0 or raw_area[3] == 0:
            raise t.fail("monitored_area", "宽高须为正 width and height must be positive")
        area = (raw_area[0], raw_area[1], raw_area[2], raw_area[3])
    backend = t.string("ocr_backend", required=False) or d.ocr_backend
    if backend not in BACKEND_NAMES:
        raise t.fail(
            "ocr_backend",
            f"应为 {' 或 '.join(BACKEND_NAMES)} expected one of {', '.join(BACKEND_NAMES)}, got {backend!r}",
        )
    workers = t.integer("ocr_workers", d.ocr_workers, minimum=1)
    settle = t.integer("settle_frames", d.settle_frames, minimum=1)
    timeout_s = t.number("timeout_s", d.timeout_s, 0.0)
    person_source = _source(t, "person_source", required=False)
    retention = t.integer("person_retention_days", d.person_retention_days, minimum=1)
    t.done()
    return CameraSettings(source, area, backend, workers, settle, timeout_s, person_source, retention)
