"""Edge agent latency on the simulated board: approve→unlock and press→ledger commit.

    python benchmarks/bench_edge.py [--grants 200] [--presses 1] [--pin-cpu N --ocr-workers K [--ocr-anywhere]]

For each grant: file a request, approve it twice (the normal two-approver
chain), time from the final ``approve()`` call to the commit of the device's
``unlocked`` event in the ledger; then press through the board's control port
and time from the press request to the commit of its ``press`` entry (this
includes the board's 20 ms switch debounce and the 5 ms firmware loop); then
wait for the relock and the request closed. Prints p50/p99/max; asserts
nothing about time. Then the working database is rebuilt from the whole ledger
into an empty one, as a new host (or a lost edge.sqlite3) does at start-up:
every entry in its own savepoint (edge/projection.py).

Under load, as on a Raspberry Pi reading photos while it seals: ``--pin-cpu 0``
keeps the agent (and the simulated board it starts) on one core, as
``taskset -c 0`` would, and ``--ocr-workers 2`` keeps that many of the edge's own
OCR workers (its pool initializer: nice 10, off the first core) busy reading a
queue of photographed pages for the whole run. ``--ocr-anywhere`` is the
baseline to compare with: the workers at nice 10 on every core, the agent's
included.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.agent import EdgeAgent  # noqa: E402
from edge.demo import bring_up, demo_config, demo_release  # noqa: E402
from edge.kernel.config import load_config  # noqa: E402
from edge.kernel.recorder import Recorder  # noqa: E402
from edge.ledger import Entry, Ledger, verify_ledger  # noqa: E402
from edge.modules import PARTS  # noqa: E402
from edge.ocr.desk import seal_zone  # noqa: E402
from edge.seal.db import FINAL_STATES, EdgeDB  # noqa: E402
from edge.seal.evidence import _worker_init, ocr_photo_job  # noqa: E402
from hostsim.control import SimBoard  # noqa: E402


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def describe(name: str, seconds: Sequence[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"{name:<28} n={len(ms):<5} p50={percentile(ms, 50):7.1f} ms  p99={percentile(ms, 99):7.1f} ms  "
        f"mean={statistics.fmean(ms):7.1f} ms  max={max(ms):7.1f} ms"
    )


class OcrLoad:
    """The edge's OCR workers kept busy with a queue of photographed pages until stopped."""

    def __init__(self, workers: int, folder: Path, anywhere: bool, pages: int = 8) -> None:
        from hostsim import pages as page_maker

        folder.mkdir(parents=True, exist_ok=True)
        self.photos: list[str] = []
        for seed in range(pages):
            jpeg, _, _ = page_maker.photographed_page(page_maker.random_spec(seed), seed=seed)
            path = folder / f"photo-{seed}.jpg"
            path.write_bytes(jpeg)
            self.photos.append(str(path))
        self.workers = workers
        self.read = 0
        self._pool = ProcessPoolExecutor(workers, initializer=_ocr_worker_init, initargs=(anywhere,))
        self.cores = sorted(self._pool.submit(os.sched_getaffinity, 0).result())
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._feed(i)) for i in range(self.workers)]

    async def _feed(self, first: int) -> None:
        loop = asyncio.get_running_loop()
        i = first
        while True:
            photo = self.photos[i % len(self.photos)]
            await loop.run_in_executor(self._pool, ocr_photo_job, photo, None, seal_zone(), "tesseract")
            self.read += 1
            i += self.workers

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ocr_worker_init(anywhere: bool) -> None:
    """A worker may run on any core (it inherits the agent's pinning otherwise), then as the edge starts it, or
    with ``anywhere`` at its priority only."""
    os.sched_setaffinity(0, range(os.cpu_count() or 1))
    if anywhere:
        os.nice(10)
    else:
        _worker_init()


async def run(grants: int, presses: int, folder: Path, ocr_workers: int = 0, ocr_anywhere: bool = False) -> None:
    load = OcrLoad(ocr_workers, folder / "photos", ocr_anywhere) if ocr_workers else None
    board = await asyncio.to_thread(SimBoard(folder / "board").start)
    try:
        ident = board.identity()
        # The demo's village: one official seal, a two-approver chain.
        (folder / "edge.toml").write_text(demo_config(ident.device_id, board.serial_url), encoding="utf-8")
        built = demo_release(folder)  # the demo's allow-list: its own signed release of this firmware
        config = load_config(folder / "edge.toml")
        document = folder / "original.txt"
        document.write_text("基准测试原件 benchmark original\n", encoding="utf-8")

        agent = await EdgeAgent.open(config)
        committed: dict[tuple[str, str, int], float] = {}  # (kind, request, n) -> commit time

        def observe(entries: Sequence[Entry]) -> None:
            now = time.perf_counter()
            for entry in entries:
                rid = entry.body.get("request_id")
                if rid is not None:
                    n = entry.body.get("event", {}).get("n", 0)
                    committed.setdefault((entry.kind, rid, n), now)

        agent.recorder.subscribe(observe)
        try:
            await bring_up(agent, board, built)
            await agent.start()
            await agent.wait_online("official-1", 20)
            if load is not None:
                load.start()
            unlock: list[float] = []
            to_grant: list[float] = []
            press: list[float] = []
            started = time.perf_counter()
            for i in range(grants):
                request = await agent.file_request("liming", f"基准 {i}", "official", presses, document)
                await agent.approve(request.id, "zhangwei")
                t0 = time.perf_counter()
                await agent.approve(request.id, "chenjing")
                await agent.recorder.wait_for(lambda: _has(committed, "seal.unlocked", request.id), 30)
                unlock.append(committed[("seal.unlocked", request.id, 0)] - t0)
                to_grant.append(committed[("grant.issued", request.id, 0)] - t0)
                for n in range(1, presses + 1):
                    t1 = time.perf_counter()
                    await asyncio.to_thread(board.control.press, 30)
                    await agent.recorder.wait_for(lambda n=n: _has(committed, "seal.press", request.id, n), 30)
                    press.append(committed[("seal.press", request.id, n)] - t1)
                final = await agent.wait_request(request.id, FINAL_STATES, 30)
                if final.status != "closed" or final.presses_used != presses:
                    raise SystemExit(f"{request.id} ended {final.status} with {final.presses_used} presses")
                if (i + 1) % 50 == 0:
                    print(f"  {i + 1} grants …", file=sys.stderr)
            elapsed = time.perf_counter() - started
        finally:
            if load is not None:
                await load.stop()
            await agent.close()
        state = await asyncio.to_thread(board.control.state)
    finally:
        await asyncio.to_thread(board.stop)

    report = verify_ledger(config.data_dir)
    print(f"edge latency on hostsim: {grants} grants × {presses} press(es), {elapsed:.1f} s in all")
    pinned = sorted(os.sched_getaffinity(0))
    if load is not None or len(pinned) < (os.cpu_count() or 1):
        print(
            f"  agent on CPU {','.join(map(str, pinned))} of {os.cpu_count()}; "
            + (f"{load.workers} OCR workers (nice 10, on CPU {','.join(map(str, load.cores))}) read {load.read} "
               "photographed pages meanwhile "
               f"({load.read / elapsed:.2f} pages/s)" if load is not None else "no OCR load")
        )  # fmt: skip
    print(describe("approve → grant recorded", to_grant))
    print(describe("approve → unlock committed", unlock))
    print(describe("press → ledger commit", press))
    print(f"board presses_total={state['presses_total']}  ledger: {report.entries} entries, verified={report.ok}")
    await replay(config.data_dir, folder / "replay")


async def replay(data_dir: Path, into: Path) -> None:
    """The start-up catch-up (Recorder.catch_up) of an empty working database over the whole ledger."""
    ledger = await Ledger.open_reader(data_dir)
    db = await EdgeDB.open(into, PARTS)  # the agent's parts: without them nothing could be applied
    try:
        t0 = time.perf_counter()
        applied = await Recorder(ledger, db).catch_up()
        elapsed = time.perf_counter() - t0
        left_out = len(await db.projection_anomalies())
    finally:
        await db.close()
        await ledger.close()
    print(f"replay into an empty database: {applied} entries in {elapsed:.2f} s ({applied / elapsed:,.0f} entries/s), {left_out} left out")


async def _has(committed: dict[tuple[str, str, int], float], kind: str, rid: str, n: int = 0) -> bool:
    return (kind, rid, n) in committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--grants", type=int, default=200, help="grants to run (default 200)")
    parser.add_argument("--presses", type=int, default=1, help="presses per grant (default 1)")
    parser.add_argument("--data", type=Path, help="keep the data here (default: a temp dir, removed)")
    parser.add_argument("--pin-cpu", type=int, help="run the agent and its board on this one CPU (as taskset -c)")
    parser.add_argument("--ocr-workers", type=int, default=0, help="OCR workers reading photos meanwhile (default 0)")
    parser.add_argument(
        "--ocr-anywhere", action="store_true", help="baseline: the OCR workers on every core, at nice 10 only"
    )
    args = parser.parse_args()
    if args.pin_cpu is not None:
        os.sched_setaffinity(0, {args.pin_cpu})
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.grants, args.presses, args.data, args.ocr_workers, args.ocr_anywhere))
    else:
        with tempfile.TemporaryDirectory(prefix="qinglian-bench-") as tmp:
            asyncio.run(run(args.grants, args.presses, Path(tmp), args.ocr_workers, args.ocr_anywhere))


if __name__ == "__main__":
    main()
