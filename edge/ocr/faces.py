"""Is there a face in the frame? OpenCV's Haar cascade classifier, with the model Debian ships.

The person camera's photo is checked for a face (edge/seal/personcam.py): none found is flagged ``no_person``,
never a reason to refuse a press. The detector is ``cv2.CascadeClassifier`` (the project pins OpenCV below 5, which
moved it out of the main modules); its model is the frontal-face cascade of Debian's ``opencv-data`` package
(``make setup`` installs it), since the pip wheel ships no cascade files.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import cv2
import numpy as np

#: Where Debian's opencv-data puts the cascades, and the one used for a face at the desk.
CASCADE_DIR = Path("/usr/share/opencv4/haarcascades")
FRONTAL_FACE = CASCADE_DIR / "haarcascade_frontalface_default.xml"


class DetectorMissing(RuntimeError):
    """The cascade file is not there (``opencv-data`` not installed): faces cannot be checked."""


class Cascade:
    """A loaded cascade. OpenCV does not promise that one classifier may run in two threads at once, and the photos
    at the unlock and at the last press can be checked together: they take turns."""

    def __init__(self, path: Path) -> None:
        self.classifier = cv2.CascadeClassifier(str(path))
        if self.classifier.empty():
            raise ValueError(f"{path} is not a cascade OpenCV can read")
        self._turn = threading.Lock()

    def detect(self, gray: np.ndarray, scale_factor: float, min_neighbors: int, min_size: int) -> list[tuple[int, int, int, int]]:
        with self._turn:
            found = self.classifier.detectMultiScale(gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_size, min_size))
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h in found]


def load_cascade(path: Path = FRONTAL_FACE) -> Cascade:
    """The cascade in ``path``; :class:`DetectorMissing` when the file is absent."""
    if not path.exists():
        raise DetectorMissing(
            f"人脸检测模型缺失 face detector missing: {path} (install Debian's opencv-data: apt-get install opencv-data)"
        )
    return Cascade(path)


@functools.cache
def _frontal() -> Cascade:
    return load_cascade()


def detect_faces(
    image: np.ndarray,
    cascade: Cascade | None = None,
    scale_factor: float = 1.1,
    min_neighbors: int = 5,
    min_size: int = 60,
) -> list[tuple[int, int, int, int]]:
    """The faces in ``image`` (BGR or grey) as (x, y, w, h) in its pixels; :class:`DetectorMissing` without the model.

    The defaults suit a face camera at arm's length: a face under 60 pixels is someone passing behind, and five
    overlapping hits keep a shaded collar or an eye from counting as a second face."""
    cascade = cascade or _frontal()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    gray = cv2.equalizeHist(gray)  # as the OpenCV face samples do: a dim desk lamp is no reason to miss a face
    return cascade.detect(gray, scale_factor, min_neighbors, min_size)


def jpeg_faces(jpeg: bytes, cascade: Cascade | None = None) -> list[tuple[int, int, int, int]]:
    """:func:`detect_faces` on a JPEG (a person photo); ``ValueError`` when it does not decode."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("照片无法解码 the photo does not decode")
    return detect_faces(image, cascade)
