"""The ``[camera]`` table of the edge's config: where the desk camera is and how photos are checked.

    [camera]
    source = "/dev/video0"            # or 0 (a V4L2 index), or "http://127.0.0.1:8081/stream.mjpg"
    monitored_area = [150, 1090, 1300, 1090]   # x, y, w, h in camera-frame pixels: where seals must land
    ocr_backend = "tesseract"         # or "rapidocr" (pip install 'qinglian[rapidocr]')
    ocr_workers = 1                   # OCR processes beside the agent
    settle_frames = 2                 # the photo is the n-th frame after the press
    timeout_s = 5.0                   # no fresh frame by then: a flagged capture_failed entry

Without the table the edge takes no photos (and says so in its log).
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


def parse_camera(t: Any) -> CameraSettings | None:
    """Read ``[camera]`` (``t`` is the config reader's table; empty when the section is absent)."""
    if not t.raw:
        return None
    d = CameraSettings(source="")
    raw_source = t.raw.get("source")
    if type(raw_source) is int:
        t.seen.add("source")
        if raw_source < 0:
            raise t.fail("source", f"设备序号应 ≥ 0 a device index must be ≥ 0, got {raw_source}")
        source = str(raw_source)
    else:
        source = t.string("source")
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
    t.done()
    return CameraSettings(source, area, backend, workers, settle, timeout_s)
