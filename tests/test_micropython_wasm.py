"""The firmware's logic, run inside the real MicroPython interpreter (WebAssembly build).

The host tests run the firmware under CPython on shims; CPython accepts things
MicroPython lacks. Here tests/micropython/run.mjs loads MicroPython 1.27 from npm
(@micropython/micropython-webassembly-pyscript, installed by `make setup`) and
runs tests/micropython/test_*.py in it, one fresh interpreter and filesystem per
module. Each MicroPython test is one pytest test; the whole suite runs once per
session.

tests/micropython/host_vectors.py holds frames and grants made by the host end
(edge/protocol.py) for the device end to accept; test_host_vectors_are_current
fails if edge/protocol.py would now make different ones. Regenerate with

    .venv/bin/python tests/test_micropython_wasm.py --write-vectors
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
MPY_DIR = ROOT / "tests" / "micropython"
RUNNER = MPY_DIR / "run.mjs"
VECTORS = MPY_DIR / "host_vectors.py"
PACKAGE_DIR = MPY_DIR / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
SETUP_HINT = "run `make setup` (it does `npm ci --prefix tests/micropython`)"
TIMEOUT_S = 120


def _node() -> str | None:
    return shutil.which("node")


def _collect_ids() -> list[str]:
    node = _node()
    if node is None:
        return ["<node missing>"]
    result = subprocess.run([node, str(RUNNER), "--list"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return [f"<run.mjs --list failed: {result.stderr.strip()[:200]}>"]
    return result.stdout.split()


def run_suite(firmware: Path | None = None) -> dict[str, Any]:
    """Run every MicroPython test once, on firmware/ or the code files in ``firmware``;
    on a setup problem return {"setup_error": message}."""
    node = _node()
    if node is None:
        return {"setup_error": f"node is not installed: {SETUP_HINT}"}
    if not PACKAGE_DIR.is_dir():
        return {"setup_error": f"{PACKAGE_DIR.relative_to(ROOT)} is missing: {SETUP_HINT}"}
    where = ["--firmware", str(firmware)] if firmware is not None else []
    try:
        result = subprocess.run([node, str(RUNNER), "--json", *where], capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"setup_error": f"run.mjs did not finish in {TIMEOUT_S} s (a firmware loop that never yields?)"}
    try:
        report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"setup_error": f"run.mjs gave no JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"}
    report["by_id"] = {r["id"]: r for r in report["results"]}
    return report


@pytest.fixture(scope="session")
def micropython_results() -> dict[str, Any]:
    return run_suite()


def _results(report: dict[str, Any]) -> dict[str, Any]:
    # Fail (not error, not skip) when the tier cannot run: CI must not pass without it.
    if "setup_error" in report:
        pytest.fail(report["setup_error"], pytrace=False)
    return report


@pytest.mark.parametrize("test_id", _collect_ids())
def test_in_micropython(micropython_results: dict[str, Any], test_id: str) -> None:
    report = _results(micropython_results)
    r = report["by_id"].get(test_id)
    if r is None:
        pytest.fail(f"{test_id}: no result from run.mjs", pytrace=False)
    if not r["ok"]:
        output = f"\n--- MicroPython output ---\n{r['output']}" if r["output"] else ""
        pytest.fail(f"{test_id} failed in {report['micropython']}:\n{r['error']}{output}", pytrace=False)


def test_runner_firmware_hash_matches_release_tool(micropython_results: dict[str, Any]) -> None:
    """run.mjs's expected firmware hash (which test_device.py checks the device against) is the release tool's."""
    from tools.release import firmware_hash

    report = _results(micropython_results)
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "firmware").glob("*.py"))}
    assert report["fwhash_expected"] == firmware_hash(files)


# -- the host-made vectors ------------------------------------------------------------

KEY = bytes(range(32))
DEV = "QL-1"
SID = "a1b2c3d4e5f60718"
WRAP_AT = (1 << 30) - 500  # minted half a second before the ticks wrap
# The end-to-end Seal test: the fake clock's start, the bytes its os.urandom
# returns (so the device's session id is known here), and the frames the edge sends.
E2E_DEV = "QL-E2E"
E2E_START = (1 << 30) - 3000
E2E_URANDOM = bytes([0x5A] * 8)
E2E_NONCE = "e2e-nonce"


def render_vectors() -> str:
    from edge.seal.protocol import (
        GRANT_LABEL,
        LINK_LABEL,
        Grant,
        Keys,
        MaintenanceGrant,
        encode_frame,
        hmac_sha256,
    )

    keys = Keys.from_device_key(KEY)
    ticks = 1 << 30

    def edge(body: dict[str, Any]) -> bytes:
        return encode_frame(keys.link, b"E", body)

    grant = Grant(DEV, SID, 7, "REQ-7", 3, 60, 1000).signed(keys.grant)
    wrap = Grant(DEV, "s", 1, "R", 1, 2, WRAP_AT).signed(keys.grant)
    maint = MaintenanceGrant(DEV, SID, 8, 600, 1000).signed(keys.grant)
    frames = {
        "hello": edge({"t": "hello", "n": "n1"}),
        "status_1": edge({"t": "status", "s": 1, "sid": SID}),
        "ack_2": edge({"t": "ack", "a": 4, "s": 2, "sid": SID}),
        "grant_3": edge({"t": "grant", "g": grant, "s": 3, "sid": SID}),
        "other_session": edge({"t": "status", "s": 9, "sid": "ffffffffffffffff"}),
        "device_frame": encode_frame(keys.link, b"D", {"t": "status", "s": 4, "sid": SID}),
    }
    # The device's send_event line is a fixed template, so the host can predict it byte for byte.
    ev_body = ('{"t":"ev","s":%d,"sid":"%s","f":%d,"e":%s}' % (1, SID, 3, '{"id": 3, "k": "press", "total": 7}')).encode()
    device_event = b"#" + ev_body + b"*" + hmac_sha256(keys.link, b"D", ev_body)[:16].hex().encode() + b"\n"

    e2e_sid = E2E_URANDOM.hex()

    def e2e(seq: int, body: dict[str, Any]) -> bytes:
        return edge({**body, "s": seq, "sid": e2e_sid})

    g1 = Grant(E2E_DEV, e2e_sid, 1, "REQ-E2E-1", 2, 5, E2E_START + 100).signed(keys.grant)
    g2 = Grant(E2E_DEV, e2e_sid, 2, "REQ-E2E-2", 1, 5, (E2E_START - 10_000) % ticks).signed(keys.grant)
    g3 = Grant(E2E_DEV, e2e_sid, 3, "REQ-E2E-3", 5, 2, E2E_START + 1500).signed(keys.grant)
    e2e_frames = {
        "hello": edge({"t": "hello", "n": E2E_NONCE}),
        "grant_1": e2e(1, {"t": "grant", "g": g1}),
        "ack_6": e2e(2, {"t": "ack", "a": 6}),
        "grant_1_again": e2e(3, {"t": "grant", "g": g1}),
        "grant_2_expired": e2e(4, {"t": "grant", "g": g2}),
        "grant_3": e2e(5, {"t": "grant", "g": g3}),
        "status": e2e(6, {"t": "status"}),
        "maint_4": e2e(7, {"t": "maint", "g": MaintenanceGrant(E2E_DEV, e2e_sid, 4, 60, (E2E_START + 3500) % ticks).signed(keys.grant)}),
        # startup.run on a fresh device: the first grant number it sees is a maintenance window
        "maint_1": e2e(1, {"t": "maint", "g": MaintenanceGrant(E2E_DEV, e2e_sid, 1, 3, E2E_START).signed(keys.grant)}),
    }

    def block(name: str, d: dict[str, Any]) -> str:
        lines = [f"{name} = {{"] + [f"    {k!r}: {v!r}," for k, v in d.items()] + ["}"]
        return "\n".join(lines)

    return "\n".join(
        [
            "# Frames and grants made by the HOST end of the protocol (edge/protocol.py),",
            "# for the device end to accept inside MicroPython. Generated; do not edit:",
            "#   .venv/bin/python tests/test_micropython_wasm.py --write-vectors",
            "# tests/test_micropython_wasm.py::test_host_vectors_are_current checks it is current.",
            f"KEY = {KEY!r}",
            f"DEV = {DEV!r}",
            f"SID = {SID!r}",
            f"LINK_LABEL = {LINK_LABEL!r}",
            f"GRANT_LABEL = {GRANT_LABEL!r}",
            f"LINK_SUBKEY = {keys.link!r}",
            f"GRANT_SUBKEY = {keys.grant!r}",
            f"GRANT = {grant!r}",
            f"WRAP_GRANT = {wrap!r}",
            f"MAINT_GRANT = {maint!r}",
            block("FRAMES", frames),
            f"DEVICE_EVENT = {device_event!r}",
            f"E2E_DEV = {E2E_DEV!r}",
            f"E2E_START = {E2E_START!r}",
            f"E2E_URANDOM = {E2E_URANDOM!r}",
            f"E2E_SID = {e2e_sid!r}",
            f"E2E_NONCE = {E2E_NONCE!r}",
            block("E2E_FRAMES", e2e_frames),
            "",
        ]
    )


def test_host_vectors_are_current() -> None:
    assert VECTORS.read_text() == render_vectors(), (
        "edge/protocol.py now makes different frames than tests/micropython/host_vectors.py holds; "
        "regenerate: .venv/bin/python tests/test_micropython_wasm.py --write-vectors"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-vectors"]:
        VECTORS.write_text(render_vectors())
        print(f"wrote {VECTORS.relative_to(ROOT)}")
    else:
        sys.exit("usage: test_micropython_wasm.py --write-vectors")
