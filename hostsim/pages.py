"""Generated documents for the virtual camera, the OCR tests and the benchmark.

A page is an A5 sheet at 300 dpi (1748 x 2480 px) with the fields the edge
reads back: a title, 甲方 and 乙方, the amount in figures and in capitals (大写),
a date (Arabic or Chinese numerals) and body text. :func:`stamp_seal` presses
a red round seal impression onto it (ring, star, the organisation's name on an
arc, the seal's kind below the star), semi-transparent like ink over the text,
and :func:`photograph` makes it look taken by a desk camera: on a desk, a
little rotated and shifted, unevenly lit, blurred, noisy and JPEG-compressed.
Everything takes a seed, so a test gets the same pixels every run.

Fonts are Debian's (``fonts-wqy-microhei`` for 黑体, ``fonts-arphic-gbsn00lp``
for 宋体); :class:`FontMissing` names the package when one is absent.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge.ocr.desk import A5_PX, FRAME_SIZE, PAGE_SCALE
from edge.ocr.numerals import date_to_chinese, fen_to_capital, fen_to_figures

DPI = 300
MARGIN_PX = 170

FONTS = {
    "sans": (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"), "fonts-wqy-microhei"),
    "serif": (Path("/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"), "fonts-arphic-gbsn00lp"),
}

INK = (24, 24, 28)  # near-black toner, RGB
SEAL_RED = (205, 32, 42)


class FontMissing(RuntimeError):
    pass


def font_path(kind: str = "sans") -> Path:
    """The Debian path of a Chinese TrueType font; :class:`FontMissing` says which package to install."""
    if kind not in FONTS:
        raise ValueError(f"font kind must be one of {sorted(FONTS)}, got {kind!r}")
    path, package = FONTS[kind]
    if not path.exists():
        raise FontMissing(
            f"缺少中文字体 Chinese font not found: {path}; install it with `apt-get install {package}` "
            "(make setup does this)"
        )
    return path


@lru_cache(maxsize=32)
def _font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(kind)), size)


# -- what is on a page -----------------------------------------------------------------


@dataclass(frozen=True)
class PageSpec:
    title: str
    party_a: str
    party_b: str
    amount_fen: int
    date: dt.date
    chinese_date: bool = False
    number: str = ""
    body: tuple[str, ...] = ()  # paragraphs before the amount
    closing: tuple[str, ...] = ()  # paragraphs after it
    font: str = "sans"
    font_px: int = 44
    blank: bool = False  # an empty sheet: nothing printed at all

    def date_text(self) -> str:
        return (
            date_to_chinese(self.date)
            if self.chinese_date
            else f"{self.date.year}年{self.date.month}月{self.date.day}日"
        )

    def lines(self) -> list[tuple[str, str]]:
        """(style, text) per paragraph as printed: style is 'title', 'body' or 'indent'."""
        if self.blank:
            return []
        out = [("title", self.title)]
        if self.number:
            out.append(("body", f"编号：{self.number}"))
        out += [("body", f"甲方：{self.party_a}"), ("body", f"乙方：{self.party_b}")]
        out += [("indent", p) for p in self.body]
        out.append(
            ("body", f"合同金额：人民币{fen_to_figures(self.amount_fen)}元（¥{fen_to_figures(self.amount_fen)}）")
        )
        out.append(("body", f"大写金额：人民币{fen_to_capital(self.amount_fen)}"))
        out += [("indent", p) for p in self.closing]
        out += [("body", "甲方（盖章）："), ("body", "乙方（盖章）："), ("body", f"签订日期：{self.date_text()}")]
        return out


_TITLES = (
    "村道硬化工程施工合同", "农田水利设施维修合同", "村委会办公用品采购合同", "文化礼堂修缮工程合同",
    "集体厂房租赁合同", "河道保洁服务协议", "路灯安装工程合同", "村级公益林管护协议",
    "垃圾分类设施采购合同", "老年食堂运营服务协议", "土地流转承包合同", "村史馆布展设计合同",
)  # fmt: skip
_VILLAGES = ("青山村", "白沙村", "桃源村", "溪口村", "石门村", "竹林村", "新塘村", "枫岭村")
_TOWNS = ("余杭区良渚街道", "安吉县天荒坪镇", "桐庐县富春江镇", "德清县莫干山镇", "淳安县千岛湖镇")
_COMPANIES = (
    "浙江宏达建设工程有限公司", "杭州绿源环境服务有限公司", "湖州恒信电气安装有限公司", "金华顺通市政工程有限公司",
    "绍兴明远文化传播有限公司", "宁波安居物业管理有限公司", "衢州丰收农业开发有限公司", "台州诚信办公设备有限公司",
)  # fmt: skip
_SENTENCES = (
    "根据《中华人民共和国民法典》及有关法律法规，经双方协商一致，订立本合同。",
    "乙方应按照甲方确认的图纸和工程量清单组织施工，保证工程质量符合国家验收标准。",
    "工程期限自合同签订之日起六十日内完成，因不可抗力延误的工期可以相应顺延。",
    "甲方按工程进度支付款项，所有款项均通过银行转账支付，不得以现金方式结算。",
    "乙方不得将本合同项下的工作转包或者违法分包给第三方。",
    "验收合格后，甲方应在十五个工作日内支付剩余款项，质量保证金按约定比例留存。",
    "本项目已经村两委会议审议通过，并在村务公开栏进行了公示，接受村民监督。",
    "双方对本合同内容负有保密义务，但依法应当公开的村务信息除外。",
    "如发生争议，双方应友好协商解决；协商不成的，可向甲方所在地人民法院起诉。",
    "乙方施工期间应做好安全防护措施，因乙方原因造成的损失由乙方承担。",
    "本合同一式四份，甲乙双方各执两份，自双方签字盖章之日起生效。",
    "乙方应为参与本项目的工作人员依法缴纳保险，并按时足额发放劳动报酬。",
    "甲方有权对工程质量和进度进行监督检查，乙方应当予以配合并提供相关资料。",
    "合同价款包括人工、材料、机械、税费等全部费用，除设计变更外不作调整。",
)  # fmt: skip


def random_spec(seed: int, **overrides: object) -> PageSpec:
    """A plausible village contract, different for every seed."""
    rng = random.Random(seed)
    village = rng.choice(_VILLAGES)
    town = rng.choice(_TOWNS)
    sentences = rng.sample(_SENTENCES, 6)
    # amounts a village stamps: from a few hundred yuan to a few million, sometimes with 角/分
    yuan = rng.choice((rng.randrange(200, 30_000), rng.randrange(30_000, 3_000_000)))
    if rng.random() < 0.5:
        yuan = yuan // 100 * 100
    fen = yuan * 100 + (rng.randrange(100) if rng.random() < 0.25 else 0)
    spec = PageSpec(
        title=rng.choice(_TITLES),
        party_a=f"{town}{village}股份经济合作社",
        party_b=rng.choice(_COMPANIES),
        amount_fen=fen,
        date=dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 700)),
        chinese_date=rng.random() < 0.5,
        number=f"QL-{2026 + rng.randrange(2)}-{rng.randrange(1, 999):03d}",
        body=(sentences[0] + sentences[1], sentences[2] + sentences[3]),
        closing=(sentences[4] + sentences[5],),
        font=rng.choice(("sans", "serif")),
        font_px=rng.choice((40, 44, 48)),
    )
    return replace(spec, **overrides)  # type: ignore[arg-type]


# -- rendering -------------------------------------------------------------------------


@dataclass
class RenderedPage:
    """The page pixels (BGR) with where things went: the seal block for stamping, the printed text."""

    image: np.ndarray
    spec: PageSpec
    seal_anchor: tuple[int, int]  # page pixels: the middle of the 甲方（盖章） line, where the seal goes
    text_lines: list[str] = field(default_factory=list)  # as printed, one per printed line

    @property
    def text(self) -> str:
        return "\n".join(self.text_lines)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int, indent: int) -> list[str]:
    lines: list[str] = []
    current = ""
    limit = width - indent
    for ch in text:
        if draw.textlength(current + ch, font=font) > limit and current:
            # keep closing punctuation with its line
            if ch in "，。；：、）》”":
                current += ch
                ch = ""
            lines.append(current)
            current = ch
            limit = width
        else:
            current += ch
    if current:
        lines.append(current)
    return lines


def render_page(spec: PageSpec) -> RenderedPage:
    """Print ``spec`` on a white A5 sheet at 300 dpi."""
    width, height = A5_PX
    img = Image.new("RGB", (width, height), (250, 250, 247))
    draw = ImageDraw.Draw(img)
    body_font = _font(spec.font, spec.font_px)
    title_font = _font(spec.font, int(spec.font_px * 1.5))
    text_w = width - 2 * MARGIN_PX
    y = MARGIN_PX
    anchor = (MARGIN_PX + text_w // 4, int(height * 0.8))
    printed: list[str] = []
    line_h = int(spec.font_px * 1.65)
    for style, text in spec.lines():
        if style == "title":
            w = draw.textlength(text, font=title_font)
            draw.text(((width - w) / 2, y), text, font=title_font, fill=INK)
            printed.append(text)
            y += int(spec.font_px * 1.5 * 2.0)
            continue
        indent = 2 * spec.font_px if style == "indent" else 0
        for i, line in enumerate(_wrap(draw, text, body_font, text_w, indent)):
            x = MARGIN_PX + (indent if i == 0 else 0)
            draw.text((x, y), line, font=body_font, fill=INK)
            printed.append(line)
            if text == "甲方（盖章）：":
                anchor = (int(x + draw.textlength(line, font=body_font) + spec.font_px * 2), y + spec.font_px // 2)
            y += line_h
        if text.startswith(("大写金额", "乙方：")):
            y += spec.font_px // 2
    if y > height - MARGIN_PX // 2:
        raise ValueError(f"the text does not fit on an A5 page ({y} px of {height})")
    image = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return RenderedPage(image, spec, anchor, printed)


# -- the seal impression ---------------------------------------------------------------


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.382
        a = -math.pi / 2 + i * math.pi / 5
        points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return points


def seal_layer(radius: int, org: str, label: str, seed: int = 0, font: str = "sans") -> np.ndarray:
    """An ink coverage mask (float32, 0..1) of a round seal, size 2*radius+1 square."""
    size = 2 * radius + 1
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    c = radius
    ring = max(4, radius // 16)
    draw.ellipse((ring // 2, ring // 2, size - 1 - ring // 2, size - 1 - ring // 2), outline=255, width=ring)
    draw.polygon(_star(c, c, radius * 0.3), fill=255)
    # the organisation's name along the upper arc, letters upright to the centre
    char_px = max(12, int(radius * 0.2))
    arc_font = _font(font, char_px)
    text_r = radius - ring - char_px * 0.75
    span = math.radians(min(250.0, 22.0 * len(org)))
    for i, ch in enumerate(org):
        a = -math.pi / 2 - span / 2 + (span * (i + 0.5) / len(org))
        glyph = Image.new("L", (char_px * 2, char_px * 2), 0)
        ImageDraw.Draw(glyph).text((char_px // 2, char_px // 2), ch, font=arc_font, fill=255)
        glyph = glyph.rotate(-math.degrees(a + math.pi / 2), resample=Image.Resampling.BICUBIC)
        gx = c + text_r * math.cos(a) - char_px
        gy = c + text_r * math.sin(a) - char_px
        img.paste(255, (int(gx), int(gy)), glyph)
    if label:
        label_font = _font(font, max(10, int(radius * 0.16)))
        w = draw.textlength(label, font=label_font)
        draw.text((c - w / 2, c + radius * 0.42), label, font=label_font, fill=255)
    mask = np.asarray(img, dtype=np.float32) / 255.0
    # uneven ink: a stamp never inks every part of the rubber the same
    rng = np.random.default_rng(seed)
    blotch = cv2.GaussianBlur(rng.random((size, size), dtype=np.float32), (0, 0), radius / 12)
    blotch = (blotch - blotch.min()) / max(float(np.ptp(blotch)), 1e-6)
    speckle = rng.random((size, size), dtype=np.float32) > 0.12
    mask *= (0.65 + 0.35 * blotch) * speckle
    return cv2.GaussianBlur(mask, (0, 0), 0.8)


def village_seal(village: str, kind: str) -> dict[str, str]:
    """The seal of kind ``kind`` (its Chinese name, 公章...) a village's collective holds: ``org`` on its ring
    and ``label`` under the star, as :func:`stamp_seal` and the desk camera's ``fit`` take them."""
    return {"org": f"{village}股份经济合作社", "label": kind}


def stamp_seal(
    page: np.ndarray,
    center: tuple[int, int],
    radius: int = 230,
    org: str = "青山村股份经济合作社",
    label: str = "合同专用章",
    seed: int = 0,
    opacity: float = 0.85,
) -> np.ndarray:
    """A copy of ``page`` (BGR) with a red seal impression centred at ``center`` (page pixels).

    Ink multiplies the paper: black print stays black under the seal, white
    paper turns red, as with a real stamp pad.
    """
    out = page.astype(np.float32)
    mask = seal_layer(radius, org, label, seed) * opacity
    h, w = page.shape[:2]
    x0, y0 = center[0] - radius, center[1] - radius
    sx0, sy0 = max(0, -x0), max(0, -y0)
    px0, py0 = max(0, x0), max(0, y0)
    px1, py1 = min(w, x0 + mask.shape[1]), min(h, y0 + mask.shape[0])
    if px1 <= px0 or py1 <= py0:
        return page.copy()
    m = mask[sy0 : sy0 + (py1 - py0), sx0 : sx0 + (px1 - px0)][..., None]
    ink = np.array(SEAL_RED[::-1], dtype=np.float32) / 255.0  # BGR
    region = out[py0:py1, px0:px1]
    out[py0:py1, px0:px1] = region * (1 - m) + region * ink * m
    return np.clip(out, 0, 255).astype(np.uint8)


# -- the camera's view -----------------------------------------------------------------



@dataclass(frozen=True)
class Shot:
    """How the page lay under the camera: rotation (degrees), shift (frame px), lighting and optics."""

    angle: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    blur: float = 0.9
    noise: float = 3.0
    light: float = 0.25  # depth of the lighting gradient
    jpeg_quality: int = 88

    @staticmethod
    def random(seed: int) -> Shot:
        rng = random.Random(seed)
        return Shot(
            angle=rng.uniform(-2.0, 2.0),
            shift=(rng.uniform(-25, 25), rng.uniform(-25, 25)),
            blur=rng.uniform(0.6, 1.3),
            noise=rng.uniform(2.0, 5.0),
            light=rng.uniform(0.1, 0.35),
            jpeg_quality=rng.randrange(80, 93),
        )


def page_to_frame(
    shot: Shot, page_size: tuple[int, int] = A5_PX, frame_size: tuple[int, int] = FRAME_SIZE
) -> np.ndarray:
    """The 2x3 affine matrix taking page pixels to frame pixels for ``shot``."""
    pw, ph = page_size
    fw, fh = frame_size
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), shot.angle, PAGE_SCALE)
    m[0, 2] += fw / 2 - pw / 2 + shot.shift[0]
    m[1, 2] += fh / 2 - ph / 2 + shot.shift[1]
    return m


def to_frame(point: tuple[float, float], shot: Shot, page_size: tuple[int, int] = A5_PX) -> tuple[float, float]:
    m = page_to_frame(shot, page_size)
    x, y = point
    return (float(m[0, 0] * x + m[0, 1] * y + m[0, 2]), float(m[1, 0] * x + m[1, 1] * y + m[1, 2]))


@lru_cache(maxsize=4)
def desk(seed: int, frame_size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """An empty desk (read-only, cached): dark grey-brown with a little grain."""
    fw, fh = frame_size
    grain: np.ndarray = np.empty((fh // 3 + 1, fw // 3 + 1), np.float32)
    cv2.setRNGSeed(seed)
    cv2.randn(grain, np.float64(0.0), np.float64(12.0))  # type: ignore[call-overload]  # OpenCV's stubs want arrays
    grain = cv2.resize(cv2.GaussianBlur(grain, (0, 0), 1.0), (fw, fh), interpolation=cv2.INTER_LINEAR)
    base = np.empty((fh, fw, 3), np.float32)
    base[:] = (58, 72, 92)  # BGR: a brownish desk top
    base += grain[..., None]
    out = np.clip(base, 0, 255).astype(np.uint8)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=8)
def _lighting(light: float, seed: int, frame_size: tuple[int, int]) -> np.ndarray:
    """Light from one side of the desk, falling off towards the other, and a vignette (read-only, cached)."""
    fw, fh = frame_size
    rng = np.random.default_rng(seed + 1)
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(theta) * (xx / fw - 0.5) + np.sin(theta) * (yy / fh - 0.5)) + 0.5
    vignette = ((xx / fw - 0.5) ** 2 + (yy / fh - 0.5) ** 2) * 0.5
    gain = (1.0 - light * np.clip(ramp, 0, 1) - vignette * light).astype(np.float32)
    gain = np.repeat(gain[..., None], 3, axis=2)
    gain.flags.writeable = False
    return gain


def photograph(
    page: np.ndarray | None, shot: Shot, seed: int = 0, frame_size: tuple[int, int] = FRAME_SIZE
) -> np.ndarray:
    """The desk camera's view (BGR) of ``page`` lying on the desk (None: the empty desk)."""
    fw, fh = frame_size
    frame = desk(seed % 4, frame_size).copy()
    if page is not None:
        m = page_to_frame(shot, (page.shape[1], page.shape[0]), frame_size)
        # the sheet's own pixels over the desk: warp the page with the desk as its border
        frame = cv2.warpAffine(page, m, (fw, fh), dst=frame, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_TRANSPARENT)
    out = cv2.multiply(frame.astype(np.float32), _lighting(round(shot.light, 3), seed % 16, frame_size))
    if shot.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), shot.blur)
    noise: np.ndarray = np.empty(out.shape, np.float32)
    cv2.setRNGSeed(seed)
    cv2.randn(noise, np.float64(0.0), np.float64(shot.noise))  # type: ignore[call-overload]  # OpenCV's stubs want arrays
    out = out + noise
    result: np.ndarray = np.clip(out, 0, 255).astype(np.uint8)
    return result


def encode_jpeg(image: np.ndarray, quality: int = 88) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return bytes(buf)


def photographed_page(
    spec: PageSpec,
    seed: int = 0,
    seal_at: tuple[int, int] | None = None,
    shot: Shot | None = None,
    seal_org: str | None = None,
) -> tuple[bytes, RenderedPage, Shot]:
    """Render ``spec``, stamp it (at ``seal_at``, default its seal block), photograph it: JPEG bytes."""
    rendered = render_page(spec)
    page = rendered.image
    center = seal_at if seal_at is not None else rendered.seal_anchor
    org = seal_org if seal_org is not None else spec.party_a[-9:] if spec.party_a else "青山村股份经济合作社"
    page = stamp_seal(page, center, org=org, seed=seed)
    shot = shot if shot is not None else Shot.random(seed)
    frame = photograph(page, shot, seed)
    return encode_jpeg(frame, shot.jpeg_quality), rendered, shot
