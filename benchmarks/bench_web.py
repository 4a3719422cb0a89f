"""Web console figures: approver's click → "unlocked" on the hostsim board, through the real HTTP stack;
requests per second of the approver's inbox page.

    python benchmarks/bench_web.py [--approvals 100] [--seconds 5] [--concurrency 8]

Runs ``qinglian edge run`` with a ``[web]`` section as its own process (the
deployment shape) against a simulated board. Each round: an applicant files a
one-press request through the JSON API, the first approver approves, and the
clock runs from the second (final) approver's POST to the board reporting its
lock open on its control port; then one press closes the request. The inbox is
then fetched with keep-alive connections as fast as the server answers.
No assertions: figures to compare between runs on the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge.agent import EdgeAgent
from edge.demo import demo_config, demo_release
from edge.kernel.accounts import host_operator
from edge.kernel.config import load_config
from edge.web.accounts import check_account, create_account
from edge.web.demo import sample_pdf
from edge.web.store import WebStore
from hostsim.control import SimBoard

PASSWORD = "bench-password"


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, samples_s: list[float]) -> None:
    ms = [s * 1000 for s in samples_s]
    print(f"{name:<40} n={len(ms):<5} p50={pct(ms, 0.5):7.2f} ms  p99={pct(ms, 0.99):7.2f} ms  mean={statistics.mean(ms):7.2f} ms")


async def accounts(config_path: Path) -> None:
    """The accounts as their owners would have them (own passwords, like the demo's), each in the ledger."""
    config = load_config(config_path)
    agent = await EdgeAgent.open(config)
    store = await WebStore.open(config.data_dir)

    async def add(user: str, roles: list[str], person: str | None) -> None:
        new = check_account(config, user, None, roles, person, None)
        await create_account(store, config, new, PASSWORD, host_operator(), agent.record_account, own_password=True)

    try:
        for user, roles in (("liming", ["applicant"]), ("zhangwei", ["approver"]), ("chenjing", ["approver"])):
            await add(user, roles, user)
        await add("jiandu", ["supervisor"], None)
    finally:
        await store.close()
        await agent.close()


def login(url: str, user: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=url, timeout=30)
    me = client.post("/api/login", json={"username": user, "password": PASSWORD})
    me.raise_for_status()
    return client, {"X-CSRF-Token": me.json()["csrf_token"]}


def wait(what: str, check, timeout: float = 30.0, every: float = 0.0005):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(every)
    return value


def file_one(client: httpx.Client, headers: dict[str, str], n: int) -> str:
    r = client.post(
        "/api/requests", headers=headers, data={"matter": f"基准测试 {n}", "seal": "official", "presses": "1", "amount": "100"},
        files={"document": ("bench.pdf", sample_pdf("bench", [str(n)]), "application/pdf")},
    )  # fmt: skip
    r.raise_for_status()
    return str(r.json()["id"])


async def inbox_rate(url: str, seconds: float, concurrency: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    done = 0
    stop_at = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            r = await client.post("/api/login", json={"username": "zhangwei", "password": PASSWORD})
            r.raise_for_status()
            while time.monotonic() < stop_at:
                t = time.perf_counter()
                page = await client.get("/inbox")
                latencies.append(time.perf_counter() - t)
                assert page.status_code == 200
                done += 1

    # The login's rate limit is per address: these logins all succeed.
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--approvals", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="qinglian-bench-web-") as tmp:
        root = Path(tmp)
        with SimBoard(root / "board") as board:
            config_path = root / "edge.toml"
            config_text = demo_config(board.device_id or "", board.serial_url).replace("heartbeat_s = 1.0", "heartbeat_s = 1.0\ngrant_retry_s = 0.2")
            # the demo's config has a [web] section of its own (upload limits): the console listens on a free port
            config_text = config_text.replace("[web]\n", '[web]\nlisten = "127.0.0.1:0"\n', 1) + '\n[[web.notify]]\nkind = "webpush"\n'
            config_path.write_text(config_text, encoding="utf-8")
            built = demo_release(root)  # the demo's allow-list: its own signed release of this firmware
            subprocess.run(
                [sys.executable, "-m", "qinglian.cli", "edge", "enrol", "--config", str(config_path), "--key-file", str(root / "board" / "flash" / "identity.json")],
                check=True, capture_output=True,
            )  # fmt: skip
            subprocess.run(
                [sys.executable, "-m", "qinglian.cli", "edge", "allow-release", "--config", str(config_path), str(built.folder)],
                check=True, capture_output=True,
            )  # fmt: skip
            asyncio.run(accounts(config_path))
            log = root / "edge.log"
            with log.open("wb") as out:
                edge = subprocess.Popen(
                    [sys.executable, "-m", "qinglian.cli", "edge", "run", "--config", str(config_path)],
                    stdout=out, stderr=out, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )  # fmt: skip
            try:
                url = wait_for_url(log, edge)
                applicant, ah = login(url, "liming")
                first, fh = login(url, "zhangwei")
                second, sh = login(url, "chenjing")
                supervisor, _ = login(url, "jiandu")
                wait("board online", lambda: supervisor.get("/api/devices").json()[0]["online"], 30, 0.05)

                samples: list[float] = []
                for n in range(args.approvals):
                    rid = file_one(applicant, ah, n)
                    first.post(f"/api/requests/{rid}/approve", headers=fh).raise_for_status()
                    t0 = time.perf_counter()
                    second.post(f"/api/requests/{rid}/approve", headers=sh).raise_for_status()
                    wait("unlocked", lambda: board.control.state()["lock"] == "unlocked")
                    samples.append(time.perf_counter() - t0)
                    board.control.press()
                    wait("closed", lambda rid=rid: applicant.get(f"/api/requests/{rid}").json()["status"] == "closed", 30, 0.01)
                report("approver click -> board unlocked", samples)

                for n in range(20):  # an inbox with twenty pending requests
                    file_one(applicant, ah, 1000 + n)
                done, latencies = asyncio.run(inbox_rate(url, args.seconds, args.concurrency))
                print(f"{'approver inbox page (20 pending)':<40} {done / args.seconds:8.1f} req/s over {args.seconds:.0f} s, "
                      f"{args.concurrency} keep-alive connections")  # fmt: skip
                report("  inbox latency under that load", latencies)
            finally:
                os.killpg(edge.pid, signal.SIGTERM)
                edge.wait(timeout=30)


def wait_for_url(log: Path, edge: subprocess.Popen[bytes]) -> str:
    def found() -> str | None:
        if edge.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-2000:])
        match = re.search(r"web console at (http://\S+)", log.read_text(errors="replace"))
        return match.group(1) if match else None

    url: str = wait("the console's address", found, 30, 0.05)
    return url

if __name__ == "__main__":
    main()
