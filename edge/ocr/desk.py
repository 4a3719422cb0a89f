"""The geometry of the desk camera's view: the frame, the page lying in it, and the monitored area where the
seal block of a page lying in the middle falls. Shared by the edge (the [camera] area the demo configures)
and the simulator's virtual camera (hostsim imports it from here, never the other way round).
"""

from __future__ import annotations

A5_PX = (1748, 2480)  # width, height of an A5 page at 300 dpi
FRAME_SIZE = (1600, 2200)  # width, height of the desk camera's frame (portrait, looking down)
PAGE_SCALE = 0.8  # page pixels to frame pixels when the page lies in the middle


def seal_zone(frame_size: tuple[int, int] = FRAME_SIZE) -> tuple[int, int, int, int]:
    """The monitored area (x, y, w, h in frame pixels) for a page lying in the middle of the desk:
    the lower two thirds of the sheet, where the seal block is, with room for the page to lie a little askew."""
    fw, fh = frame_size
    pw, ph = A5_PX[0] * PAGE_SCALE, A5_PX[1] * PAGE_SCALE
    left, top = (fw - pw) / 2, (fh - ph) / 2
    return (int(left), int(top + ph * 0.35), int(pw), int(ph * 0.65))
