"""Start-up of photo evidence on a long ledger: what the sweep costs as presses accumulate.

    python benchmarks/bench_sweep.py [--presses 20000] [--missing 10]

Each start, before any device connects, the edge looks for presses of a run
with the camera on that have no photo (they become flagged ``capture_failed``
entries) and photos that were never read. The ledger is filled with PRESSES
photographed presses (press, photo, OCR and check entries, through the real
recorder, so the working database projects them as it would), the last
MISSING of which have no photo. The sweep is then timed, with one pass over
the ledger's press entries measured in the same run as the baseline: a sweep
that read the ledger would cost that at least. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.agent import EdgeAgent  # noqa: E402
from edge.demo import demo_config, demo_release  # noqa: E402
from edge.kernel.config import load_config  # noqa: E402
from edge.ocr.settings import CameraSettings  # noqa: E402
from edge.seal import projection as P  # noqa: E402
from edge.seal.evidence import Evidence  # noqa: E402

DEVICE = "QL-000000000001"
BATCH = 500


def photographed_press(n: int, press_entry: int) -> list[tuple[str, dict[str, Any]]]:
    """The entries one photographed press leaves after its own (``press_entry``): photo, OCR, check."""
    sha = hashlib.sha256(f"photo {n}".encode()).hexdigest()
    about = {"device_id": DEVICE, "request_id": f"SR-{n:06d}", "press_no": 1, "press_entry": press_entry}
    return [
        (P.PHOTO, {**about, "grant_no": n, "event_id": n, "sha256": sha, "bytes": 150_000}),
        (P.PHOTO_OCR, {"photo": sha, "request_id": about["request_id"], "press_no": 1, "press_entry": press_entry,
                       "text": "村道硬化工程施工合同\n甲方：青山村股份经济合作社", "backend": "tesseract"}),
        (P.PHOTO_CHECK, {"photo": sha, "request_id": about["request_id"], "press_no": 1, "press_entry": press_entry,
                         "match": True, "score_permille": 990, "flags": []}),
    ]  # fmt: skip


def press(n: int) -> tuple[str, dict[str, Any]]:
    event = {"k": "press", "id": n, "no": n, "n": 1, "total": n}
    return P.seal_kind("press"), {"device_id": DEVICE, "event_id": n, "event": event, "request_id": f"SR-{n:06d}", "grant_no": n}


async def fill(agent: EdgeAgent, presses: int, missing: int) -> None:
    async with agent.recorder.step():
        await agent.recorder.record(P.AGENT_STARTED, {"pid": 1, "village": agent.config.village, "camera": True})
    for first in range(1, presses + 1, BATCH):
        numbers = range(first, min(first + BATCH, presses + 1))
        async with agent.recorder.step():
            recorded = await agent.recorder.record_many([press(n) for n in numbers])
            evidence = [
                item
                for n, entry in zip(numbers, recorded, strict=True)
                if n <= presses - missing
                for item in photographed_press(n, entry.index)
            ]
            if evidence:
                await agent.recorder.record_many(evidence)


async def run(presses: int, missing: int, folder: Path) -> None:
    (folder / "edge.toml").write_text(demo_config(DEVICE, "socket://127.0.0.1:9"), encoding="utf-8")
    demo_release(folder)  # the demo's config names its release key
    config = load_config(folder / "edge.toml")
    agent = await EdgeAgent.open(config)
    try:
        t0 = time.perf_counter()
        await fill(agent, presses, missing)
        print(f"ledger: {await agent.ledger.size():,} entries for {presses:,} presses, written in {time.perf_counter() - t0:.1f} s")

        t0 = time.perf_counter()
        read = await agent.ledger.entries_of_kind(P.seal_kind("press"))
        baseline = time.perf_counter() - t0

        evidence = Evidence(config, CameraSettings("http://127.0.0.1:9/stream.mjpg"), agent.recorder)
        t0 = time.perf_counter()
        await evidence._sweep()  # what Evidence.start does before the devices connect
        swept = time.perf_counter() - t0
        failed = await agent.ledger.entries_of_kind(P.CAPTURE_FAILED)
        print(f"baseline, one pass over the {len(read):,} press entries: {baseline * 1000:8.1f} ms")
        print(f"sweep (found {len(failed)} of {missing} presses without a photo):  {swept * 1000:8.1f} ms"
              f"  = {swept / baseline:.2f} x the baseline")  # fmt: skip
    finally:
        await agent.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=20_000)
    parser.add_argument("--missing", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.presses, args.missing, Path(folder)))


if __name__ == "__main__":
    main()
