"""``qinglian ocr render``: make a test page (printed or photographed) with the simulator's page generator.

Registered into the ``ocr`` group that :mod:`edge.ocr.cli` made, so the command line stays as it was while
the edge's OCR code does not import the simulator.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from edge.ocr.cli import EXIT_OK, fail
from hostsim import pages


def _ocr_actions(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    ocr = subparsers.choices["ocr"]
    return next(a for a in ocr._actions if isinstance(a, argparse._SubParsersAction))


def _point(text: str) -> tuple[int, int]:
    parts = text.split(",")
    if len(parts) != 2 or not all(p.strip().lstrip("-").isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected x,y in page pixels, got {text!r}")
    return int(parts[0]), int(parts[1])


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    render = _ocr_actions(subparsers).add_parser("render", help="生成测试页 make a test page (printed or photographed)")
    render.add_argument("out", type=Path, help="output file (.png or .jpg)")
    render.add_argument("--seed", type=int, default=1, help="which generated document")
    render.add_argument("--amount-fen", type=int, help="override the amount")
    render.add_argument("--title", help="override the title")
    render.add_argument("--chinese-date", action="store_true", help="write the date in Chinese numerals")
    render.add_argument("--blank", action="store_true", help="an empty sheet")
    render.add_argument("--photo", action="store_true", help="photograph it on the desk (rotation, light, blur)")
    render.add_argument("--stamp", action="store_true", help="stamp the seal on its seal block")
    render.add_argument("--stamp-at", type=_point, help="stamp the seal at x,y (page pixels)")
    render.add_argument("--json", action="store_true")
    render.set_defaults(func=_render)


def _render(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.amount_fen is not None:
        if args.amount_fen < 0:
            return fail(args, "amount must be ≥ 0 fen")
        overrides["amount_fen"] = args.amount_fen
    if args.title:
        overrides["title"] = args.title
    if args.chinese_date:
        overrides["chinese_date"] = True
    if args.blank:
        overrides["blank"] = True
    try:
        spec = pages.random_spec(args.seed, **overrides)
        rendered = pages.render_page(spec)
    except (pages.FontMissing, ValueError) as exc:
        return fail(args, str(exc))
    image = rendered.image
    stamped_at = None
    if args.stamp or args.stamp_at:
        stamped_at = args.stamp_at or rendered.seal_anchor
        image = pages.stamp_seal(image, stamped_at, org=spec.party_a[-9:], seed=args.seed)
    info: dict[str, Any] = {"out": str(args.out), "seed": args.seed, "amount_fen": spec.amount_fen, "title": spec.title}
    if args.photo:
        shot = pages.Shot.random(args.seed)
        image = pages.photograph(image, shot, args.seed)
        if stamped_at is not None:
            info["seal_in_photo"] = [round(v) for v in pages.to_frame(stamped_at, shot)]
    elif stamped_at is not None:
        info["seal_in_page"] = list(stamped_at)
    ext = args.out.suffix.lower()
    if ext not in (".png", ".jpg", ".jpeg"):
        return fail(args, "output must be .png or .jpg")
    data = pages.encode_jpeg(image, 90) if ext != ".png" else _png(image)
    args.out.write_bytes(data)
    print(json.dumps(info, ensure_ascii=False) if args.json else f"已生成 wrote {args.out} ({spec.title})")
    return EXIT_OK


def _png(image: Any) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return bytes(buf)
