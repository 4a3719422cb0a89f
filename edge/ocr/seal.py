"""Finding the red seal impression on a photographed page, and checking where it landed.

Red ink is picked out in HSV (hue near 0/180, saturated, not dark), closed
into one blob, and fitted with a circle (``minEnclosingCircle``). The
monitored area is a rectangle in the camera frame where stamping must happen
(the window of the desk jig); the impression is inside when its centre is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

Area = tuple[int, int, int, int]  # x, y, w, h in camera-frame pixels


@dataclass(frozen=True)
class SealMark:
    found: bool
    center: tuple[int, int] | None = None
    radius: int | None = None
    inside_area: bool | None = None  # None when no area is configured or nothing was found

    def to_dict(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "center": list(self.center) if self.center is not None else None,
            "radius": self.radius,
            "inside_area": self.inside_area,
        }


def parse_area(text: str) -> Area:
    """``x,y,w,h`` (pixels of the camera frame) to a tuple; ValueError with a clear message otherwise."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"监控区域应为 x,y,w,h (四个非负整数) monitored area must be x,y,w,h, got {text!r}")
    x, y, w, h = (int(p) for p in parts)
    if w <= 0 or h <= 0:
        raise ValueError(f"监控区域宽高须为正 the area's width and height must be positive, got {text!r}")
    return x, y, w, h


def red_mask(image: np.ndarray) -> np.ndarray:
    """Pixels of red ink (uint8 mask, 255 = red)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    # seal red, not the orange-brown of a wooden desk (hue 10-20)
    low = cv2.inRange(hsv, (0, 80, 70), (7, 255, 255))
    high = cv2.inRange(hsv, (160, 80, 70), (180, 255, 255))
    return cv2.bitwise_or(low, high)


def find_seal(image: np.ndarray, area: Area | None = None, min_radius_frac: float = 0.03) -> SealMark:
    """The largest round red impression in ``image`` (BGR), and whether its centre is inside ``area``."""
    h, w = image.shape[:2]
    scale = min(1.0, 800.0 / max(h, w))
    small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else image
    mask = red_mask(small)
    k = max(3, int(min(small.shape[:2]) * 0.02) | 1)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    min_r = min_radius_frac * min(small.shape[:2])
    best = None
    for contour in contours:
        (cx, cy), r = cv2.minEnclosingCircle(contour)
        if r < min_r or r > 0.4 * min(small.shape[:2]):
            continue
        # a seal is round: its blob's hull fills most of the fitted circle
        hull_area = cv2.contourArea(cv2.convexHull(contour))
        if hull_area < 0.55 * np.pi * r * r:
            continue
        if best is None or r > best[2]:
            best = (cx, cy, r)
    if best is None:
        return SealMark(found=False)
    cx, cy, r = (v / scale for v in best)
    center = (round(cx), round(cy))
    inside = None
    if area is not None:
        ax, ay, aw, ah = area
        inside = ax <= center[0] < ax + aw and ay <= center[1] < ay + ah
    return SealMark(True, center, round(r), inside)
