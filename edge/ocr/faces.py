"""Is there a face in the frame? OpenCV's Haar cascade, evaluated here with numpy.

The person camera's photo is checked for a face (edge/seal/personcam.py): none found is flagged ``no_person``,
never a reason to refuse a press. The detector's model is OpenCV's frontal-face Haar cascade as Debian's
``opencv-data`` package ships it (``make setup`` installs it); the pip OpenCV 5 wheel the edge runs on no longer
has ``cv2.CascadeClassifier`` (OpenCV 5 moved it out of the main modules) and ships no cascade files, so the
cascade is read from its XML and evaluated as OpenCV 4's ``detectMultiScale`` does:

- an image pyramid (the 24x24 window stays, the image shrinks by ``scale_factor`` a step), windows every 2
  pixels of the shrunk image (every pixel once it is shrunk by more than 2);
- each window's feature sums are divided by its standard deviation over the window less a 1-pixel border, and a
  window that flat (deviation at most 10 grey levels) is no face;
- a window is a face when every stage's sum of stump outputs reaches the stage's threshold;
- hits are grouped as ``cv2.groupRectangles`` does (similar within ``eps``, a group needs more than
  ``min_neighbors`` hits, a small group inside a larger one is dropped).

The evaluation runs over every window of a scale at once, stage by stage over the windows still standing.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: Where Debian's opencv-data puts the cascades, and the one used for a face at the desk.
CASCADE_DIR = Path("/usr/share/opencv4/haarcascades")
FRONTAL_FACE = CASCADE_DIR / "haarcascade_frontalface_default.xml"


class DetectorMissing(RuntimeError):
    """The cascade file is not there (``opencv-data`` not installed): faces cannot be checked."""


@dataclass(frozen=True)
class _Stage:
    threshold: float
    rects: np.ndarray  # (weak, 3, 4) x, y, w, h in the 24x24 window; an unused third rect has weight 0
    weights: np.ndarray  # (weak, 3)
    node_threshold: np.ndarray  # (weak,)
    left: np.ndarray  # (weak,) leaf value when the feature is below the node's threshold
    right: np.ndarray  # (weak,)


@dataclass(frozen=True)
class Cascade:
    width: int
    height: int
    stages: tuple[_Stage, ...]


def _numbers(element: ET.Element | None) -> list[float]:
    if element is None or element.text is None:
        raise ValueError("cascade element without numbers")
    return [float(v) for v in element.text.split()]


@functools.cache
def load_cascade(path: Path = FRONTAL_FACE) -> Cascade:
    """A stump-based HAAR cascade in OpenCV's XML format; :class:`DetectorMissing` when the file is absent."""
    if not path.exists():
        raise DetectorMissing(
            f"人脸检测模型缺失 face detector missing: {path} (install Debian's opencv-data: apt-get install opencv-data)"
        )
    root = ET.parse(path).getroot().find("cascade")
    if root is None or (root.findtext("featureType") or "").strip() != "HAAR":
        raise ValueError(f"{path} is not a HAAR cascade")
    features = []
    for feature in root.iterfind("features/_"):
        if (feature.findtext("tilted") or "0").strip() not in ("0", ""):
            raise ValueError(f"{path}: tilted features are not supported")
        rects = [_numbers(r) for r in feature.iterfind("rects/_")]
        rects += [[0, 0, 0, 0, 0.0]] * (3 - len(rects))
        features.append(rects)
    feats = np.array(features, dtype=np.float64)  # (features, 3, 5)
    stages = []
    for stage in root.iterfind("stages/_"):
        nodes = np.array([_numbers(w.find("internalNodes")) for w in stage.iterfind("weakClassifiers/_")])
        leaves = np.array([_numbers(w.find("leafValues")) for w in stage.iterfind("weakClassifiers/_")])
        if nodes.shape[1] != 4 or leaves.shape[1] != 2:
            raise ValueError(f"{path}: only stump cascades are supported")
        index = nodes[:, 2].astype(int)
        stages.append(
            _Stage(
                threshold=float(_numbers(stage.find("stageThreshold"))[0]),
                rects=feats[index, :, :4].astype(np.int64),
                weights=feats[index, :, 4],
                node_threshold=nodes[:, 3],
                left=leaves[:, 0],
                right=leaves[:, 1],
            )
        )
    return Cascade(int(root.findtext("width") or 0), int(root.findtext("height") or 0), tuple(stages))


def _rect_sums(ii: np.ndarray, base: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Sums of ``rects`` (..., 4: x, y, w, h) at each window, whose top-left corner is ``base`` as a flat index into
    the integral image ``ii``: shape (windows, ...). Flat indices: one ``take`` per corner, no 2-D fancy indexing."""
    width = ii.shape[1]
    top_left = rects[..., 1] * width + rects[..., 0]
    top_right = top_left + rects[..., 2]
    bottom_left = top_left + rects[..., 3] * width
    bottom_right = bottom_left + rects[..., 2]
    at = base.reshape(-1, *([1] * (rects.ndim - 1)))
    flat = ii.ravel()
    return flat.take(at + bottom_right) - flat.take(at + top_right) - flat.take(at + bottom_left) + flat.take(at + top_left)


def _windows(cascade: Cascade, gray: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-left corners of the windows of one pyramid level that pass every stage."""
    h, w = gray.shape
    ii = cv2.integral(gray, sdepth=cv2.CV_64F)
    sq = cv2.integral(gray.astype(np.float64) ** 2, sdepth=cv2.CV_64F)
    ys, xs = np.mgrid[0 : h - cascade.height : step, 0 : w - cascade.width : step]
    xs, ys = xs.ravel(), ys.ravel()
    base = ys * ii.shape[1] + xs
    norm = np.array([[1, 1, cascade.width - 2, cascade.height - 2]])
    area = float(norm[0, 2] * norm[0, 3])
    total = _rect_sums(ii, base, norm)[:, 0]
    spread = area * _rect_sums(sq, base, norm)[:, 0] - total * total
    deviation = np.sqrt(np.maximum(spread, 0.0))
    keep = area / np.maximum(deviation, 1e-9) < 0.1  # a flat window (deviation <= 10) is no face
    base, deviation = base[keep], deviation[keep]
    for stage in cascade.stages:
        if base.size == 0:
            break
        sums = _rect_sums(ii, base, stage.rects)  # (windows, weak, 3)
        value = (sums * stage.weights).sum(axis=2) / deviation[:, None]
        votes = np.where(value < stage.node_threshold, stage.left, stage.right).sum(axis=1)
        keep = votes >= stage.threshold
        base, deviation = base[keep], deviation[keep]
    return base % ii.shape[1], base // ii.shape[1]


def _group(rects: list[tuple[int, int, int, int]], min_neighbors: int, eps: float) -> list[tuple[int, int, int, int]]:
    """``cv2.groupRectangles``: cluster similar rectangles, average each cluster, keep the well-supported ones."""
    parent = list(range(len(rects)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(rects):
        for j in range(i):
            b = rects[j]
            delta = eps * (min(a[2], b[2]) + min(a[3], b[3])) * 0.5
            if (
                abs(a[0] - b[0]) <= delta and abs(a[1] - b[1]) <= delta
                and abs(a[0] + a[2] - b[0] - b[2]) <= delta and abs(a[1] + a[3] - b[1] - b[3]) <= delta
            ):  # fmt: skip
                parent[root(i)] = root(j)
    clusters: dict[int, list[tuple[int, int, int, int]]] = {}
    for i, r in enumerate(rects):
        clusters.setdefault(root(i), []).append(r)
    groups = [
        (tuple(round(sum(r[k] for r in members) / len(members)) for k in range(4)), len(members))
        for members in clusters.values()
    ]
    kept = []
    for r1, n1 in groups:
        if n1 <= min_neighbors:
            continue
        inside = False
        for r2, n2 in groups:
            if r2 is r1 or n2 <= min_neighbors:
                continue
            dx, dy = round(r2[2] * eps), round(r2[3] * eps)
            if (
                r1[0] >= r2[0] - dx and r1[1] >= r2[1] - dy
                and r1[0] + r1[2] <= r2[0] + r2[2] + dx and r1[1] + r1[3] <= r2[1] + r2[3] + dy
                and (n2 > max(3, n1) or n1 < 3)
            ):  # fmt: skip
                inside = True
                break
        if not inside:
            kept.append((int(r1[0]), int(r1[1]), int(r1[2]), int(r1[3])))
    return kept


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
    cascade = cascade or load_cascade()
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    gray = cv2.equalizeHist(gray)  # as the OpenCV face samples do: a dim desk lamp is no reason to miss a face
    h, w = gray.shape
    hits: list[tuple[int, int, int, int]] = []
    factor = 1.0
    while True:
        win_w, win_h = round(cascade.width * factor), round(cascade.height * factor)
        size = (round(w / factor), round(h / factor))
        if size[0] <= cascade.width or size[1] <= cascade.height:
            break
        if win_w >= min_size and win_h >= min_size:
            level = gray if factor == 1.0 else cv2.resize(gray, size, interpolation=cv2.INTER_LINEAR)
            xs, ys = _windows(cascade, level, 1 if factor > 2 else 2)
            hits += [(round(x * factor), round(y * factor), win_w, win_h) for x, y in zip(xs.tolist(), ys.tolist())]
        factor *= scale_factor
    return _group(hits, min_neighbors, 0.2)


def jpeg_faces(jpeg: bytes, cascade: Cascade | None = None) -> list[tuple[int, int, int, int]]:
    """:func:`detect_faces` on a JPEG (a person photo); ``ValueError`` when it does not decode."""
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ValueError("照片无法解码 the photo does not decode")
    return detect_faces(image, cascade)
