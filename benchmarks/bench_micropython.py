"""Grant verification time inside real MicroPython (WebAssembly build), and in CPython.

    python benchmarks/bench_micropython.py [--grants 2000] [--rounds 5]

Runs firmware/grant.py's `check` over N valid grants (the full path: shape,
MAC, device, session, number, window) inside MicroPython 1.27 from npm
(tests/micropython/node_modules, installed by `make setup`), with the bare
HMAC over the same grant messages as the in-run baseline; then the same
firmware code under CPython (on hostsim's `micropython` and `time` shims) and
CPython's C `hmac` for comparison. Prints the best round per figure. No
assertions: these are figures to compare between runs on the same machine.
The WebAssembly interpreter runs on this machine's CPU under Node's JIT for
the interpreter itself, so its figures are not an ESP32's; the ratio of check
to bare HMAC is the portable part.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware"
PACKAGE = ROOT / "tests" / "micropython" / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
KEY = bytes(range(32))
DEV = "QL-B"
SID = "0123456789abcdef"
AT = (1 << 30) - 1000  # near the tick wrap, as a long-running device would be

# Runs inside MicroPython. GRANTS and ROUNDS are substituted; the result is
# left as a JSON string in _bench (numbers crossing into JS are cut to 32 bits).
MPY_BENCH = """
import binascii, json, time
import grant
from hmac256 import Hmac, subkey

N = %(grants)d
ROUNDS = %(rounds)d
key = Hmac(subkey(bytes(range(32)), b"qinglian/grant/v1"))
grants = []
for i in range(N):
    g = {"dev": "%(dev)s", "sid": "%(sid)s", "no": i + 1, "req": "BENCH-%%d" %% i,
         "presses": 1, "valid_s": 60, "at": %(at)d}
    g["mac"] = binascii.hexlify(key.digest(grant.message(g))).decode()
    grants.append(g)
msgs = [grant.message(g) for g in grants]
now = time.ticks_add(%(at)d, 1000)

def run_check():
    t0 = time.ticks_us()
    for g in grants:
        if grant.check(g, key, "%(dev)s", "%(sid)s", 0, now) is not None:
            raise AssertionError("a valid grant was refused")
    return time.ticks_diff(time.ticks_us(), t0)

def run_hmac():
    t0 = time.ticks_us()
    for m in msgs:
        key.digest(m)
    return time.ticks_diff(time.ticks_us(), t0)

check_us = min(run_check() for _ in range(ROUNDS))
hmac_us = min(run_hmac() for _ in range(ROUNDS))
import sys
_bench = json.dumps({"version": sys.version, "check_us": check_us, "hmac_us": hmac_us})
"""

NODE_DRIVER = """
import { readFileSync, readdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
// Inputs come in the environment: micropython.mjs runs as a CLI if argv names its path.
const { BENCH_PACKAGE: pkg, BENCH_FIRMWARE: firmware, BENCH_CODE: code } = process.env;
const { loadMicroPython } = await import(pathToFileURL(pkg + "/micropython.mjs").href);
const mp = await loadMicroPython({ heapsize: 8 * 1024 * 1024, stdout: (l) => console.error(l), stderr: (l) => console.error(l) });
for (const n of readdirSync(firmware).filter((n) => n.endsWith(".py"))) mp.FS.writeFile("/" + n, readFileSync(firmware + "/" + n));
mp.runPython("import os\\nos.chdir('/')\\n" + code);
console.log(mp.globals.get("_bench"));
"""


def in_micropython(grants: int, rounds: int) -> dict[str, float]:
    node = shutil.which("node")
    if node is None or not PACKAGE.is_dir():
        sys.exit("needs node and tests/micropython/node_modules: run `make setup`")
    code = MPY_BENCH % {"grants": grants, "rounds": rounds, "dev": DEV, "sid": SID, "at": AT}
    out = subprocess.run(
        [node, "--input-type=module", "-e", NODE_DRIVER],
        capture_output=True, text=True,
        env={**os.environ, "BENCH_PACKAGE": str(PACKAGE), "BENCH_FIRMWARE": str(FIRMWARE), "BENCH_CODE": code},
    )  # fmt: skip
    if out.returncode != 0:
        sys.exit(f"MicroPython run failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def in_cpython(grants: int, rounds: int) -> dict[str, float]:
    from hostsim.mpy import micropython, ticks

    sys.modules.setdefault("micropython", micropython)  # board.py's `const`
    ticks.patch_time()  # grant.py's time.ticks_diff / ticks_add
    sys.path.insert(0, str(FIRMWARE))
    import grant  # type: ignore[import-not-found]
    from hmac256 import Hmac, subkey  # type: ignore[import-not-found]

    key = Hmac(subkey(KEY, b"qinglian/grant/v1"))
    gs = []
    for i in range(grants):
        g = {"dev": DEV, "sid": SID, "no": i + 1, "req": f"BENCH-{i}", "presses": 1, "valid_s": 60, "at": AT}
        g["mac"] = key.digest(grant.message(g)).hex()
        gs.append(g)
    msgs = [grant.message(g) for g in gs]
    now = time.ticks_add(AT, 1000)  # type: ignore[attr-defined]
    raw_key = subkey(KEY, b"qinglian/grant/v1")

    def best(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) * 1e6

    def checks() -> None:
        for g in gs:
            assert grant.check(g, key, DEV, SID, 0, now) is None

    def macs() -> None:
        for m in msgs:
            key.digest(m)

    def stdlib() -> None:
        for m in msgs:
            hmac.new(raw_key, m, hashlib.sha256).digest()

    return {"check_us": best(checks), "hmac_us": best(macs), "stdlib_us": best(stdlib)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.grants

    mp = in_micropython(n, args.rounds)
    cp = in_cpython(n, args.rounds)

    def row(name: str, total_us: float, base_us: float | None = None) -> None:
        ratio = f"  x{total_us / base_us:5.2f} of the bare HMAC" if base_us else ""
        print(f"{name:<46} {total_us / n:8.2f} us/grant  ({total_us / 1000:8.1f} ms for {n}){ratio}")

    print(f"grant verification, {n} valid grants, best of {args.rounds} rounds")
    print(f"MicroPython: {mp['version']} (WebAssembly, node {subprocess.run(['node', '--version'], capture_output=True, text=True, check=True).stdout.strip()})")
    row("  MicroPython  grant.check", mp["check_us"], mp["hmac_us"])
    row("  MicroPython  bare HMAC (hmac256, baseline)", mp["hmac_us"])
    print(f"CPython {sys.version.split()[0]}:")
    row("  CPython      grant.check (same firmware code)", cp["check_us"], cp["hmac_us"])
    row("  CPython      bare HMAC (hmac256)", cp["hmac_us"])
    row("  CPython      stdlib hmac (C)", cp["stdlib_us"])
    print(f"MicroPython / CPython, grant.check: x{mp['check_us'] / cp['check_us']:.1f}")


if __name__ == "__main__":
    main()
