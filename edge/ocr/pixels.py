"""How many pixels a page would decode to, read from the file's header before anything is decoded.

A PNG or JPEG names its width and height in a few header bytes, and a decoder
allocates width x height x channels before it reads a single pixel: a 948 KB
PNG of 30000 x 30000 becomes 2.7 GB in OpenCV. So every image is measured here
first (Pillow's ``Image.open`` is lazy: it reads the header and decodes nothing)
and refused above a pixel limit, at upload and again before each decode.

The edge renders no PDF itself; an approver's browser does. For a PDF the page
boxes (at the resolution a renderer for OCR would use) and the images it embeds
are read from the file's dictionaries and held to the same limit.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile
from PIL.PngImagePlugin import PngImageFile

MAX_PAGE_PIXELS = 40_000_000  # an A4 page scanned at 600 dpi is 35 million
RENDER_DPI = 200  # a PDF page counted as rendered at this resolution (OCR needs no more)
_POINTS_PER_INCH = 72

# Pillow's own guard, for any decode through Pillow in this process (the edge decodes with OpenCV, after
# check_image). The header is read below through the format's own class, which leaves the judging to us.
Image.MAX_IMAGE_PIXELS = MAX_PAGE_PIXELS
_HEADER_READERS = ((b"\x89PNG\r\n\x1a\n", PngImageFile), (b"\xff\xd8\xff", JpegImageFile))

_NUMBER = rb"(-?\d+(?:\.\d*)?|-?\.\d+)"
_MEDIABOX = re.compile(rb"/MediaBox\s*\[\s*" + rb"\s+".join([_NUMBER] * 4) + rb"\s*\]")
_IMAGE = re.compile(rb"/Subtype\s*/Image\b")
_WIDTH = re.compile(rb"/Width\s+(\d+)")
_HEIGHT = re.compile(rb"/Height\s+(\d+)")
_DICT_REACH = 512  # an image's /Width and /Height stand next to its /Subtype in one small dictionary


class UnreadableImage(ValueError):
    """The bytes are not a PNG or JPEG whose header can be read."""


class TooManyPixels(ValueError):
    """A page or image would decode to more pixels than allowed; the message says which, in Chinese."""


@dataclass(frozen=True)
class PageSize:
    width: int
    height: int
    what: str  # "图片", "第 2 页", "内嵌图片": where in the file, for the message

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _refuse(size: PageSize, max_pixels: int) -> TooManyPixels:
    return TooManyPixels(
        f"{size.what}尺寸为 {size.width}×{size.height} 像素，超过上限 {max_pixels / 1_000_000:g} 百万像素。"
        "请降低扫描分辨率（300 dpi 足够）或缩小图片后再上传。"
    )


def check_image(data: bytes | Path, max_pixels: int = MAX_PAGE_PIXELS) -> PageSize:
    """An image's size from its header (bytes or a file), nothing decoded; :class:`TooManyPixels` over
    ``max_pixels``, :class:`UnreadableImage` when it is no image."""
    with io.BytesIO(data) if isinstance(data, bytes) else Path(data).open("rb") as source:
        head = source.read(8)
        source.seek(0)
        reader = next((cls for magic, cls in _HEADER_READERS if head.startswith(magic)), None)
        if reader is None:
            raise UnreadableImage("不是 PNG 或 JPEG 图片 not a PNG or JPEG image")
        try:
            # Image.open would refuse a huge image before saying how huge; the format's class reads the header only.
            with reader(source) as image:
                size = PageSize(*image.size, "图片")
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise UnreadableImage(f"无法读取图片尺寸 cannot read the image header: {exc}") from None
    if size.pixels > max_pixels:
        raise _refuse(size, max_pixels)
    return size


def pdf_sizes(data: bytes) -> list[PageSize]:
    """Each page box (in pixels at :data:`RENDER_DPI`) and each embedded image's size, as the PDF states them."""
    sizes = []
    scale = RENDER_DPI / _POINTS_PER_INCH
    for n, m in enumerate(_MEDIABOX.finditer(data), 1):
        x0, y0, x1, y1 = (float(v) for v in m.groups())
        sizes.append(PageSize(round(abs(x1 - x0) * scale), round(abs(y1 - y0) * scale), f"第 {n} 页"))
    for m in _IMAGE.finditer(data):
        near = data[max(0, m.start() - _DICT_REACH) : m.end() + _DICT_REACH]
        width, height = _WIDTH.search(near), _HEIGHT.search(near)
        if width and height:
            sizes.append(PageSize(int(width.group(1)), int(height.group(1)), "内嵌图片"))
    return sizes


def check_pdf(data: bytes, max_pixels: int = MAX_PAGE_PIXELS) -> None:
    """:class:`TooManyPixels` when a page or an embedded image of the PDF is over ``max_pixels``."""
    for size in pdf_sizes(data):
        if size.pixels > max_pixels:
            raise _refuse(size, max_pixels)
