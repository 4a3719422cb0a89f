"""``qinglian ocr ...``: read a photographed page, compare it with its original, search (``ocr render``, which
makes test pages with the simulator, is registered by :mod:`hostsim.ocrcli`).

Exit codes: 0 done (for ``compare``: the page matches), 1 ``compare`` found a
difference, 2 bad input or an OCR engine that is not installed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2


def _area(text: str) -> tuple[int, int, int, int]:
    from edge.ocr.seal import parse_area

    try:
        return parse_area(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from edge.ocr.backends import BACKENDS, DEFAULT_BACKEND

    ocr = subparsers.add_parser("ocr", help="照片识别 OCR of stamped pages: extract, compare, search, render")
    actions = ocr.add_subparsers(dest="ocr_command", required=True, metavar="ACTION")

    def engine(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--backend", choices=sorted(BACKENDS), default=DEFAULT_BACKEND, help="OCR 引擎 OCR engine")
        parser.add_argument("--area", type=_area, help="监控区域 monitored area x,y,w,h in photo pixels")
        parser.add_argument("--json", action="store_true", help="print JSON")

    extract = actions.add_parser("extract", help="识别一张照片 read one page: text, fields, seal")
    extract.add_argument("image", type=Path)
    engine(extract)
    extract.set_defaults(func=_extract)

    compare = actions.add_parser(
        "compare",
        help="比对照片与原件 compare a photographed page with the approved original",
        description="Exit 0 when the photo shows the original, 1 when it differs (flags say how).",
    )
    compare.add_argument("original", type=Path)
    compare.add_argument("photo", type=Path)
    compare.add_argument("--no-seal", action="store_true", help="the photo need not show a seal impression")
    engine(compare)
    compare.set_defaults(func=_compare)

    search = actions.add_parser("search", help="全文检索 search stamped pages by their text")
    search.add_argument("query", nargs="?", default="", help="words to find (all must occur)")
    search.add_argument("--data", type=Path, required=True, help="the edge's data folder")
    search.add_argument("--village")
    search.add_argument("--seal", help="official / finance / contract / legal_rep")
    search.add_argument("--since", help="from this UTC date or time (ISO)")
    search.add_argument("--until", help="before this UTC date or time (ISO)")
    search.add_argument("--flag", help="only pages with this flag (any: any flag)")
    search.add_argument("--limit", type=int, default=50)
    search.add_argument("--json", action="store_true")
    search.set_defaults(func=_search)


def fail(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message}, ensure_ascii=False))
    else:
        print(f"错误 error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _read(path: Path, args: argparse.Namespace) -> Any:
    from edge.ocr.pipeline import read_file

    return read_file(str(path), args.backend, args.area)


def _extract(args: argparse.Namespace) -> int:
    from edge.ocr.preprocess import ImageError
    from edge.ocr.types import OcrUnavailable

    try:
        reading = _read(args.image, args)
    except (ImageError, OcrUnavailable, ValueError) as exc:
        return fail(args, str(exc))
    out = reading.public()
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
        return EXIT_OK
    f, s = out["fields"], out["seal"]
    parties = f["parties"] or {}
    print(out["text"])
    print("—" * 20)
    print(f"标题 title:   {f['title'] or '—'}")
    print(f"甲方 party A: {parties.get('party_a') or '—'}")
    print(f"乙方 party B: {parties.get('party_b') or '—'}")
    amount = f["amount_fen"]
    print(f"金额 amount:  {'—' if amount is None else f'{amount // 100:,}.{amount % 100:02d} 元 ({amount} fen)'}")
    print(f"日期 date:    {f['date'] or '—'}")
    if s["found"]:
        where = {True: "在监控区域内 inside the area", False: "在监控区域外 OUTSIDE the area", None: ""}[
            s["inside_area"]
        ]
        print(f"印章 seal:    centre {tuple(s['center'])}, radius {s['radius']} px {where}")
    else:
        print("印章 seal:    未找到 not found")
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from edge.ocr.pipeline import compare
    from edge.ocr.preprocess import ImageError
    from edge.ocr.types import OcrUnavailable

    try:
        original = _read(args.original, argparse.Namespace(backend=args.backend, area=None))
        photo = _read(args.photo, args)
    except (ImageError, OcrUnavailable, ValueError) as exc:
        return fail(args, str(exc))
    result = compare(original, photo, expect_seal=not args.no_seal)
    if args.json:
        print(json.dumps(result.public(), ensure_ascii=False))
    else:
        names = {
            "blank": "空白页 blank page",
            "title": "标题不符 title differs",
            "amount": "金额不符 amount differs",
            "text": "正文不符 text differs",
            "seal_outside": "印章在监控区域外 seal outside the area",
            "seal_missing": "未见印章 no seal impression",
        }
        verdict = "一致 match" if result.match else "不一致 MISMATCH"
        print(f"{verdict}  (text similarity {result.score:.3f})")
        for flag in result.flags:
            print(f"  - {names.get(flag, flag)}")
    return EXIT_OK if result.match else EXIT_MISMATCH


def _search(args: argparse.Namespace) -> int:
    from edge.ocr.search import SearchIndex, SearchUnavailable, hits_json

    path = args.data / "search.db"
    if not path.exists():
        return fail(args, f"没有检索索引 no search index at {path} (nothing stamped yet?)")
    try:
        index = SearchIndex(path)
    except SearchUnavailable as exc:
        return fail(args, str(exc))
    try:
        hits = index.search(args.query, args.village, args.seal, args.since, args.until, args.flag, args.limit)
    finally:
        index.close()
    if args.json:
        print(hits_json(hits))
        return EXIT_OK
    if not hits:
        print("无结果 no pages found")
    for h in hits:
        flags = f"  ⚑ {' '.join(h.flags)}" if h.flags else ""
        print(f"{h.taken_at}  {h.village}  {h.seal}  {h.title or '—'}  #{h.press_no}  {h.photo_sha256[:12]}{flags}")
        print(f"    {h.snippet}")
    return EXIT_OK
