"""OCR of stamped pages: accuracy, fraud detection and speed, Tesseract and RapidOCR side by side.

    .venv/bin/python benchmarks/bench_ocr.py [--pages 30] [--first-seed 1000] [--backends tesseract,rapidocr]

For each generated page (fonts, sizes, amounts, date styles, rotation, light,
blur, noise and seal position vary with the seed) it OCRs the clean original,
the stamped page as the desk camera sees it (preprocessed as the edge does,
and plainly, to show what the red channel buys), and one forged variant
(cycling: a different document, a changed amount, a blank page, a stamp
outside the monitored area). Prints figures; asserts nothing.

Character accuracy is 1 - edit distance / length against the printed text,
compared without spaces and punctuation (full- and half-width forms equal).

Seconds depend on what else the machine is doing, so for Tesseract each clean
page is also read by the bare ``tesseract`` command (the same prepared image,
one call, as a shell would run it) right after the edge's own reading: the
two figures side by side tell the edge's overhead from the machine's load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import cv2

from edge.ocr import preprocess
from edge.ocr.backends import get_backend
from edge.ocr.desk import A5_PX, seal_zone
from edge.ocr.fields import normalize_text
from edge.ocr.pipeline import compare, read_image
from edge.ocr.types import OcrUnavailable
from hostsim import pages

FRAUDS = ("swapped", "amount", "blank", "seal_outside")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(ocr: str, truth: str) -> float:
    o, t = normalize_text(ocr), normalize_text(truth)
    return max(0.0, 1 - edit_distance(o, t) / max(len(t), 1))


def plain_text(image, backend) -> str:  # type: ignore[no-untyped-def]
    prepared = preprocess.prepare(image, red_channel=False, flatten=False)
    return "\n".join(line.text for line in backend.read(prepared.grey))


def bare_tesseract(image, folder: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds the ``tesseract`` command takes to read ``image`` prepared as the edge prepares it."""
    path = os.path.join(folder, "page.png")
    cv2.imwrite(path, preprocess.prepare(image).grey)
    t0 = time.perf_counter()
    subprocess.run(["tesseract", path, "-", "-l", "chi_sim", "--psm", "6", "tsv"], capture_output=True, check=True)
    return time.perf_counter() - t0


def forged(spec: pages.PageSpec, kind: str, seed: int) -> tuple[pages.PageSpec, tuple[int, int] | None]:
    if kind == "swapped":
        return pages.random_spec(seed + 10_000), None
    if kind == "amount":
        return replace(spec, amount_fen=spec.amount_fen + 100_000 * (1 + seed % 7)), None
    if kind == "blank":
        return replace(spec, blank=True), None
    return spec, (A5_PX[0] // 2, 320)  # the seal on the title, far from the seal block


def bench(backend_name: str, n: int, first_seed: int) -> dict[str, float] | None:
    try:
        backend = get_backend(backend_name)
    except OcrUnavailable as exc:
        print(f"\n== {backend_name}: not available ({exc})")
        return None
    area = seal_zone()
    acc_pre, acc_plain, secs, secs_a5, secs_bare = [], [], [], [], []
    misread_titles: list[str] = []
    scratch = tempfile.TemporaryDirectory()
    load_before = os.getloadavg()[0]
    right = {k: 0 for k in ("title", "amount", "figures", "capitals", "date", "parties")}
    detected = {k: 0 for k in FRAUDS}
    tried = {k: 0 for k in FRAUDS}
    false_flags: list[str] = []
    for i in range(n):
        seed = first_seed + i
        spec = pages.random_spec(seed)
        rendered = pages.render_page(spec)
        t0 = time.perf_counter()
        original = read_image(rendered.image, backend_name)
        secs_a5.append(time.perf_counter() - t0)  # the clean A5 page at 300 dpi
        if backend_name == "tesseract":
            secs_bare.append(bare_tesseract(rendered.image, scratch.name))
        jpeg, _, _ = pages.photographed_page(spec, seed=seed)
        frame = preprocess.decode(jpeg)
        t0 = time.perf_counter()
        photo = read_image(frame, backend_name, area)
        secs.append(time.perf_counter() - t0)
        acc_pre.append(char_accuracy(photo.text, rendered.text))
        acc_plain.append(char_accuracy(plain_text(frame, backend), rendered.text))
        f = photo.fields
        right["title"] += f.title == normalize_text(spec.title)
        if f.title != normalize_text(spec.title):
            misread_titles.append(f"page {seed}: {f.title} for {spec.title}")
        right["amount"] += f.amount_fen == spec.amount_fen
        right["figures"] += f.amount_figures_fen == spec.amount_fen
        right["capitals"] += f.amount_capitals_fen == spec.amount_fen
        right["date"] += f.date == spec.date.isoformat()
        right["parties"] += (f.party_a, f.party_b) == (normalize_text(spec.party_a), normalize_text(spec.party_b))
        genuine = compare(original, photo)
        if genuine.flags:
            false_flags.append(f"page {seed}: {genuine.flags}")
        kind = FRAUDS[i % len(FRAUDS)]
        fake_spec, seal_at = forged(spec, kind, seed)
        fake_jpeg, _, _ = pages.photographed_page(fake_spec, seed=seed + 1, seal_at=seal_at, seal_org=spec.party_a[-9:])
        fake = compare(original, read_image(preprocess.decode(fake_jpeg), backend_name, area))
        tried[kind] += 1
        expected = {"swapped": "text", "amount": "amount", "blank": "blank", "seal_outside": "seal_outside"}[kind]
        detected[kind] += expected in fake.flags
        bare = f" (bare {secs_bare[-1]:.2f} s)" if secs_bare else ""
        print(f"  page {i + 1:2d}/{n}  acc {acc_pre[-1]:.3f} (plain {acc_plain[-1]:.3f})  photo {secs[-1]:.2f} s  "
              f"A5 {secs_a5[-1]:.2f} s{bare}  genuine {genuine.flags or 'ok'}  {kind} -> {fake.flags}",
              flush=True)  # fmt: skip
    scratch.cleanup()
    print(f"\n== {backend_name}: {n} sealed pages photographed on the desk (seeds {first_seed}-{first_seed + n - 1})")
    print(f"character accuracy, preprocessed (red channel): {statistics.mean(acc_pre):.3f}  (min {min(acc_pre):.3f})")
    print(
        f"character accuracy, plain grey:                 {statistics.mean(acc_plain):.3f}  (min {min(acc_plain):.3f})"
    )
    for key, count in right.items():
        print(f"field {key:9s} right: {count}/{n} = {count / n:.1%}")
    print("".join(f"  title misread on {s}\n" for s in misread_titles), end="")
    total_tried = sum(tried.values())
    print(f"mismatch detection: {sum(detected.values())}/{total_tried} = {sum(detected.values()) / total_tried:.1%}  "
          + ", ".join(f"{k} {detected[k]}/{tried[k]}" for k in FRAUDS))  # fmt: skip
    print(f"false mismatch flags on genuine pages: {len(false_flags)}/{n}" + ("".join("\n  " + s for s in false_flags)))
    print(f"seconds per photographed page (decode, straighten, OCR, capitals, seal): "
          f"p50 {statistics.median(secs):.2f}  max {max(secs):.2f}")  # fmt: skip
    print(f"seconds per clean A5 page at 300 dpi (1748x2480):                        "
          f"p50 {statistics.median(secs_a5):.2f}  max {max(secs_a5):.2f}")  # fmt: skip
    if secs_bare:
        ratios = [ours / bare for ours, bare in zip(secs_a5, secs_bare)]
        print(f"  baseline, bare `tesseract` command on the same prepared pages:        "
              f"p50 {statistics.median(secs_bare):.2f}  max {max(secs_bare):.2f}")  # fmt: skip
        print(f"  edge / bare, page by page:                                             "
              f"p50 {statistics.median(ratios):.2f}  max {max(ratios):.2f}")  # fmt: skip
    print(
        f"load average (1 min) before and after: {load_before:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    return {"acc": statistics.mean(acc_pre), "plain": statistics.mean(acc_plain), "s": statistics.median(secs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--first-seed", type=int, default=1000, help="page i is generated from seed FIRST_SEED + i")
    parser.add_argument("--backends", default="tesseract,rapidocr")
    args = parser.parse_args()
    print(f"OCR benchmark, {args.pages} pages per engine, OMP_THREAD_LIMIT={os.environ.get('OMP_THREAD_LIMIT')}, "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    results = {}
    for name in args.backends.split(","):
        results[name] = bench(name.strip(), args.pages, args.first_seed)
    print("\n== side by side")
    print(f"{'engine':10s} {'char acc':>9s} {'plain':>7s} {'s/page':>7s}")
    for name, r in results.items():
        if r is None:
            print(f"{name:10s} {'not installed':>25s}")
        else:
            print(f"{name:10s} {r['acc']:9.3f} {r['plain']:7.3f} {r['s']:7.2f}")


if __name__ == "__main__":
    main()
