"""The virtual face camera beside the desk: the person holding the seal, drawn here, served as an MJPEG stream.

The scene is made of primitives (a wall, the desk with the seal's sleeve, a seated person: shoulders, neck, and a
face with hair, brows, eyes, nose and mouth), laid out so that OpenCV's frontal-face Haar cascade finds the face
(tests/test_seal_person_detect.py checks it for several seeds); the seed varies the clothes, the skin tone and
where the person sits. ``present`` false is the empty chair: no face in the frame, for the ``no_person`` flag.

Served by :class:`hostsim.camera.CameraServer` like the desk camera::

    GET /stream.mjpg    GET /frame.jpg    GET /state    POST /person {"present": false}
"""

from __future__ import annotations

import random
import threading
from typing import Any

import cv2
import numpy as np

FRAME = (640, 480)
JPEG_QUALITY = 90
FRAMES = 8  # noisy frames rendered once and served in turn: rendering each one would cost the tests a core

_SKIN = ((150, 180, 220), (120, 160, 205), (105, 140, 190), (160, 190, 230))  # BGR
_CLOTHES = ((120, 60, 40), (40, 80, 40), (60, 60, 60), (30, 40, 120), (140, 120, 90))


def _face(img: np.ndarray, cx: int, cy: int, s: int, skin: tuple[int, int, int]) -> None:
    """A frontal face of half-height ``s`` centred at (cx, cy): what the cascade looks for is dark eyes under a
    light forehead, a light bridge between them, and a darker mouth below."""
    cv2.ellipse(img, (cx, cy), (int(s * 0.78), s), 0, 0, 360, skin, -1)
    cv2.ellipse(img, (cx, cy - int(s * 0.55)), (int(s * 0.82), int(s * 0.5)), 0, 180, 360, (30, 30, 40), -1)  # hair
    ey, dx = cy - int(s * 0.12), int(s * 0.33)
    shade = tuple(max(0, c - 45) for c in skin)
    for side in (-1, 1):
        ex = cx + side * dx
        cv2.ellipse(img, (ex, ey - int(s * 0.02)), (int(s * 0.22), int(s * 0.13)), 0, 0, 360, shade, -1)  # the socket
        cv2.ellipse(img, (ex, ey - int(s * 0.17)), (int(s * 0.2), int(s * 0.05)), 0, 0, 360, (40, 40, 50), -1)
        cv2.ellipse(img, (ex, ey), (int(s * 0.15), int(s * 0.07)), 0, 0, 360, (200, 205, 210), -1)
        cv2.circle(img, (ex, ey), int(s * 0.075), (30, 25, 20), -1)
    cv2.line(img, (cx, ey + int(s * 0.05)), (cx - int(s * 0.06), cy + int(s * 0.28)), shade, max(1, int(s * 0.04)))
    cv2.ellipse(img, (cx, cy + int(s * 0.3)), (int(s * 0.12), int(s * 0.05)), 0, 0, 180, shade, max(1, int(s * 0.03)))
    cv2.ellipse(img, (cx, cy + int(s * 0.55)), (int(s * 0.26), int(s * 0.09)), 0, 0, 360, (70, 70, 150), -1)
    cv2.line(img, (cx - int(s * 0.26), cy + int(s * 0.55)), (cx + int(s * 0.26), cy + int(s * 0.55)), (40, 40, 90), 2)


def render(seed: int, present: bool = True, size: tuple[int, int] = FRAME, frame: int = 0) -> np.ndarray:
    """The desk seen from the face camera (BGR), the same for the same seed; ``face_box`` says where the face is.
    ``frame`` changes only the sensor's noise, as from one frame of a camera to the next."""
    w, h = size
    rng = random.Random(seed)
    img = np.full((h, w, 3), (120, 135, 145), np.uint8)  # the office wall
    cv2.rectangle(img, (int(w * 0.72), int(h * 0.08)), (int(w * 0.95), int(h * 0.45)), (120, 140, 150), -1)  # a notice
    if present:
        cx, cy, s = face_box(seed, size)
        cloth = rng.choice(_CLOTHES)
        skin = _SKIN[seed % len(_SKIN)]
        cv2.ellipse(img, (cx, h), (int(s * 1.9), int(s * 1.6)), 0, 180, 360, cloth, -1)  # shoulders
        cv2.rectangle(img, (cx - int(s * 0.3), cy + int(s * 0.7)), (cx + int(s * 0.3), cy + int(s * 1.3)), skin, -1)
        _face(img, cx, cy, s, skin)
    else:
        cv2.rectangle(img, (int(w * 0.35), int(h * 0.45)), (int(w * 0.65), int(h * 0.8)), (60, 70, 90), -1)  # the chair
    cv2.rectangle(img, (0, int(h * 0.8)), (w, h), (70, 100, 140), -1)  # the desk
    cv2.rectangle(img, (int(w * 0.15), int(h * 0.72)), (int(w * 0.23), int(h * 0.86)), (40, 40, 160), -1)  # the sleeve
    noise = np.random.default_rng([seed, frame]).normal(0, 3, img.shape)
    return cv2.GaussianBlur(np.clip(img + noise, 0, 255).astype(np.uint8), (3, 3), 0)


def face_box(seed: int, size: tuple[int, int] = FRAME) -> tuple[int, int, int]:
    """Where the seed seats the person: the face's centre and half-height in frame pixels."""
    w, h = size
    rng = random.Random(seed * 31 + 7)
    s = int(h * rng.uniform(0.19, 0.24))
    return int(w * rng.uniform(0.4, 0.6)), int(h * rng.uniform(0.38, 0.44)), s


class FaceCamera:
    """The scene in front of the face camera. Thread-safe; served by :class:`hostsim.camera.CameraServer`."""

    ops = ("person",)

    def __init__(self, seed: int = 0, size: tuple[int, int] = FRAME) -> None:
        self.seed = seed
        self.size = size
        self._lock = threading.Lock()
        self._present = True
        self._version = 0
        self._served = 0
        self._frames = self._render_locked()

    def _render_locked(self) -> list[np.ndarray]:
        return [render(self.seed, self._present, self.size, frame) for frame in range(FRAMES)]

    def jpeg(self) -> bytes:
        """The next frame, its number burned into the top left corner as a camera's on-screen display does: the
        noise alone repeats every ``FRAMES``, and the edge re-encodes what it decodes, so without the number two
        photos ``FRAMES`` frames apart would be the same image, the same hash."""
        with self._lock:
            self._served += 1
            served, image = self._served, self._frames[self._served % FRAMES].copy()
        cv2.putText(image, f"{served:08d}", (8, 22), cv2.FONT_HERSHEY_PLAIN, 1.2, (235, 235, 235), 1, cv2.LINE_AA)
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        assert ok
        return bytes(buf)

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"version": self._version, "present": self._present, "frame_size": list(self.size)}

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """``person`` {"present": bool}: someone sits at the desk or the chair is empty; ``state``."""
        op = request.get("op")
        if op == "person":
            present = request.get("present", True)
            if not isinstance(present, bool):
                raise ValueError("present must be true or false")
            with self._lock:
                self._present = present
                self._version += 1
                self._frames = self._render_locked()
            return self.state()
        if op == "state":
            return self.state()
        raise ValueError(f"unknown face camera op {op!r}")
