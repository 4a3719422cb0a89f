"""The golden ledgers: seal flows written by a fixed script, and what replaying them must give.

Two ledgers live in tests/data/golden/, each as ``<name>.entries.jsonl`` (every entry as stored) and
``<name>.state.json`` (the working database it replays to, every table's rows sorted):

- ``flows``: written by :func:`seal_flows` below with a fixed device key, release key, document and
  device-side values (session, ticks, events): filing, the approval chain and N of M, the refusals of
  separation of duties, rejection, expiry, grants and their events through the device manager, rogue
  grants, firmware, accounts, and one entry the projection cannot apply. Running it again must write the
  same kinds and byte-identical bodies (tests/test_golden_replay.py).
- ``demo``: one ``qinglian demo --json`` run on the simulated board (real link, photos, OCR, a firmware
  flash through a maintenance window). Its timings and the board's random values differ every run, so
  it is only replayed.

``python tests/golden_flows.py`` writes both again; do that only when a change of the ledger's meaning
is intended, and say so in the commit.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import DEVICE, HUGE, LARGE, SMALL, write_config

from edge.agent import EdgeAgent
from edge.kernel.accounts import ACCOUNT_CREATED, ACCOUNT_DISABLED, ACCOUNT_PASSWORD_RESET
from edge.kernel.config import load_config
from edge.kernel.errors import Refused
from edge.kernel.projection import apply_entries
from edge.ledger import Entry
from edge.modules import PARTS
from edge.seal.db import EdgeDB
from edge.seal.devices import DeviceManager, _Handle
from edge.seal.firmware import FORMAT, firmware_hash, signed_bytes
from edge.seal.keystore import DeviceIdentity
from edge.seal.projection import APPROVED_KIND
from edge.seal.protocol import Grant, Keys, MaintenanceGrant

GOLDEN = Path(__file__).parent / "data" / "golden"
DEVICE_ID = "esp32-601dec0de001"
DEVICE_KEY = bytes(range(32))
RELEASE_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
FW_FILES = {"main.py": "11" * 32, "grant.py": "22" * 32}
FW = firmware_hash(FW_FILES)
SID = "5e551011"
TICKS = 123_456
ADMIN = "admin"


def golden_manifest() -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "format": FORMAT, "version": "golden", "security_version": 1, "target": "source",
        "files": FW_FILES, "firmware_hash": FW, "key_id": "golden",
    }  # fmt: skip
    manifest["signature"] = RELEASE_KEY.sign(signed_bytes(manifest)).hex()
    return manifest


class ScriptedLink:
    """What the device manager reads of a device link, with the device's side fixed by the script."""

    def __init__(self, hello: dict[str, Any]) -> None:
        self.online = True
        self.hello_info = hello
        self.last_status: dict[str, Any] | None = {"last_grant": hello["last_grant"], "fw": hello["fw"], "tamper": False}
        self.sent: list[dict[str, Any]] = []
        self._keys = Keys.from_device_key(DEVICE_KEY)

    def mint_grant(self, no: int, req: str, presses: int, valid_s: int) -> dict[str, Any]:
        return Grant(DEVICE_ID, SID, no, req, presses, valid_s, TICKS).signed(self._keys.grant)

    def send_signed_grant(self, grant: dict[str, Any]) -> None:
        self.sent.append(grant)

    def mint_maintenance(self, no: int, secs: int) -> dict[str, Any]:
        return MaintenanceGrant(DEVICE_ID, SID, no, secs, TICKS).signed(self._keys.grant)

    def send_signed_maintenance(self, grant: dict[str, Any]) -> None:
        self.sent.append(grant)

    def close(self) -> None:
        self.online = False


def _config_text(folder: Path) -> Path:
    path = write_config(folder, "socket://127.0.0.1:9", DEVICE_ID)
    public = RELEASE_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (folder / "release.pub.pem").write_bytes(public)
    path.write_text(path.read_text(encoding="utf-8") + '\n[firmware]\nrelease_pubkey = "release.pub.pem"\n', encoding="utf-8")
    return path


async def seal_flows(folder: Path) -> list[Entry]:
    """Write the ``flows`` ledger into ``folder`` (a fresh data folder); return its entries."""
    late = timedelta()

    def clock() -> datetime:  # the desk's "now": moved on past the approval lifetime for the expiry
        return datetime.now(UTC) + late

    folder.mkdir(parents=True, exist_ok=True)
    original = folder / "golden-original.txt"
    original.write_text("青莲村证明\n金额 ¥2,500.00\n", encoding="utf-8")
    agent = await EdgeAgent.open(load_config(_config_text(folder)), clock=clock)
    try:
        await agent.enrol(DeviceIdentity(DEVICE_ID, DEVICE_KEY), DEVICE)
        await agent.allow_release(golden_manifest())
        await agent.record_account(ACCOUNT_CREATED, {
            "username": "zw", "name": "张伟", "roles": ["approver"], "person": "zhangwei", "villages": ["测试村"],
            "by": ADMIN, "must_change_password": True,
        })  # fmt: skip
        await agent.record_account(ACCOUNT_PASSWORD_RESET, {"username": "zw", "person": "zhangwei", "by": ADMIN})
        await agent.record_account(ACCOUNT_DISABLED, {"username": "zw", "person": "zhangwei", "by": ADMIN})

        async def refused(request_id: str, person: str) -> None:
            try:
                await agent.desk.approve(request_id, person, account=person)
            except Refused:
                return
            raise AssertionError(f"{person} was not refused on {request_id}")

        # the chain: out of order first, then in order
        chain = await agent.file_request("liming", "村委会证明", "official", 2, original, amount_fen=SMALL)
        await refused(chain.id, "chenjing")
        await agent.desk.approve(chain.id, "zhangwei", account="zw")
        await agent.desk.approve(chain.id, "chenjing", account="chenjing")

        manager = DeviceManager(agent.config, agent.recorder, agent.desk, asyncio.Event())
        hello = {"sid": SID, "boots": 3, "presses": 10, "last_grant": 0, "first": 5, "pending": 0, "lock": "locked",
                 "tamper": False, "fw": FW, "ver": 1}  # fmt: skip
        link = ScriptedLink(hello)
        device = agent.config.device(DEVICE)
        handle = _Handle(device, DEVICE_ID, DEVICE_KEY, DeviceIdentity(DEVICE_ID, DEVICE_KEY).fingerprint)
        handle.link = link  # type: ignore[assignment]
        manager._handles[DEVICE_ID] = handle
        await manager._link_changed(handle, True, hello)  # online, events 1..4 lost before enrolment
        await manager._dispatch(handle)  # grant 1 for the chain request
        events = iter(range(5, 100))

        async def event(k: str, **fields: Any) -> None:
            await manager._record_event(handle, {"id": next(events), "k": k, "t": TICKS, **fields})

        await event("grant_ok", no=1)
        await event("unlocked", no=1)
        await event("press", no=1, n=1, total=11)
        await event("press", no=1, n=2, total=12)
        await event("relocked", no=1, reason="used", used=2)

        # N of M (2 of 3): self-approval refused, then two approvers in any order; the device refuses the grant
        two = await agent.file_request("chenjing", "合同盖章", "official", 1, original, amount_fen=LARGE)
        await refused(two.id, "chenjing")
        await agent.desk.approve(two.id, "zhaolei", account="zhaolei")
        await agent.desk.approve(two.id, "zhangwei", account="zw")
        await manager._dispatch(handle)
        await event("grant_refused", no=2, reason="bad_mac")

        # the custodian may not approve; a rejection with its reason
        huge = await agent.file_request("liming", "大额合同", "official", 2, original, amount_fen=HUGE)
        await refused(huge.id, "wangfang")
        await agent.desk.reject(huge.id, "zhangwei", "金额与原件不符", account="zw")

        # approved, then never used: expired on the desk's clock
        stale = await agent.file_request("wangfang", "过期证明", "official", 1, original, amount_fen=SMALL)
        await agent.desk.approve(stale.id, "zhangwei", account="zw")
        await agent.desk.approve(stale.id, "chenjing", account="chenjing")
        link.online = False  # nothing dispatched to it
        late = timedelta(seconds=agent.config.timing.approval_ttl_s + 1)
        await agent.desk.expire_due()
        link.online = True

        # device-side anomalies, a maintenance window, a press under a grant this edge never issued, offline
        await event("tamper", active=True)
        await event("tamper", active=False)
        await event("locked_press", total=12)
        await event("boot", cause="watchdog", boots=4, fw=FW, presses=12)
        await manager.open_maintenance(DEVICE_ID, 60)
        await event("press", no=9, n=1, total=13)
        await manager._link_changed(handle, False, {})

        # an entry the working database cannot take (no request id): an anomaly, and the next entry follows
        async with agent.recorder.step():
            await agent.recorder.record(APPROVED_KIND, {"approvers": ["zhangwei"]})
        await agent.record_account(ACCOUNT_DISABLED, {"username": "zw", "person": "zhangwei", "by": ADMIN})
        return await agent.ledger.entries()
    finally:
        await agent.close()


def entry_record(entry: Entry) -> dict[str, Any]:
    return {"index": entry.index, "ts": entry.ts, "kind": entry.kind, "body": entry.body,
            "prev_hash": entry.prev_hash.hex(), "hash": entry.hash.hex()}  # fmt: skip


def read_entries(path: Path) -> list[Entry]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        entries.append(Entry(r["index"], r["ts"], r["kind"], r["body"], bytes.fromhex(r["prev_hash"]), bytes.fromhex(r["hash"])))
    return entries


async def replay(entries: list[Entry], data_dir: Path) -> dict[str, list[list[Any]]]:
    """Apply ``entries`` to an empty working database in ``data_dir``; every table's rows, sorted."""
    db = await EdgeDB.open(data_dir, PARTS)
    try:
        await apply_entries(db, entries)
    finally:
        await db.close()
    return dump_state(data_dir / "edge.sqlite3")


def dump_state(path: Path) -> dict[str, list[list[Any]]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return {t: sorted((list(r) for r in conn.execute(f'SELECT * FROM "{t}"')), key=_sort_key) for t in tables}
    finally:
        conn.close()


def _sort_key(row: list[Any]) -> str:
    return json.dumps(row, ensure_ascii=False, default=str)


def _write(name: str, entries: list[Entry], state: dict[str, Any]) -> None:
    lines = [json.dumps(entry_record(e), ensure_ascii=False, sort_keys=True) for e in entries]
    (GOLDEN / f"{name}.entries.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (GOLDEN / f"{name}.state.json").write_text(json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")


async def _regenerate(run: Callable[[Path], Any]) -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        entries = await seal_flows(Path(tmp) / "flows")
        _write("flows", entries, await replay(entries, Path(tmp) / "flows-replay"))
        demo = Path(tmp) / "demo"
        run(demo)
        reader = await _demo_entries(demo)
        _write("demo", reader, await replay(reader, Path(tmp) / "demo-replay"))


async def _demo_entries(data: Path) -> list[Entry]:
    from edge.ledger import Ledger

    ledger = await Ledger.open_reader(data)
    try:
        return await ledger.entries()
    finally:
        await ledger.close()


def _run_demo(data: Path) -> None:
    subprocess.run([sys.executable, "-m", "qinglian.cli", "demo", "--json", "--data", str(data)], check=True, capture_output=True, timeout=300)


if __name__ == "__main__":
    asyncio.run(_regenerate(_run_demo))
