"""The edge agent and the central store together: the agent syncs on its own, applies the roster and
routing sent down, allows signed firmware releases from the central allow-list, and refuses a
configuration that would break its rules."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from central_support import COUNTY, TOWNSHIP, CentralProcess
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from edge_support import DEVICE, SMALL, document, write_config

from central.store import CentralStore
from edge.seal import firmware
from edge.agent import EdgeAgent
from edge.kernel.central import CONFIG_APPLIED, CONFIG_REFUSED, effective_config
from edge.kernel.config import CentralSettings, load_config
from edge.kernel.errors import ConfigError
from edge.seal.keystore import DeviceIdentity
from edge.ledger import verify_ledger
from edge.ledger.wire import CONFIG_RECEIVED, canonical_hash
from hostsim import flash
from tools import release, releasekey

pytestmark = pytest.mark.slow

VILLAGE = "测试村"  # the village of edge_support's config

ROSTER = {"people": [{"id": "sunli", "name": "孙立", "roles": ["approver"]}]}  # a township-appointed approver
ROUTING = {
    "routes": [
        {"name": "镇定-公章", "seal": ["official"], "mode": "chain", "approvers": ["sunli", "zhangwei"]},
    ]
}


def _central_config(path: Path, url: str, edge_id: str = "test-village") -> Path:
    with path.open("a", encoding="utf-8") as f:
        f.write(f'\n[central]\nurl = "{url}"\nedge_id = "{edge_id}"\nsync_interval_s = 0.2\nbatch_size = 200\n')
    return path


async def _agent(tmp_path: Path, config_path: Path) -> EdgeAgent:
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    config = load_config(config_path)
    agent = await EdgeAgent.open(config)
    if await agent.db.device_by_name(DEVICE) is None:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
    return agent


async def _wait(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_central_section_is_parsed_and_checked(tmp_path: Path) -> None:
    path = _central_config(write_config(tmp_path, "socket://127.0.0.1:9"), "https://central.example")
    assert load_config(path).central == CentralSettings("https://central.example", "test-village", 0.2, 200)
    assert load_config(write_config(tmp_path / "plain", "socket://127.0.0.1:9")).central is None
    bad = _central_config(write_config(tmp_path / "bad", "socket://127.0.0.1:9"), "ftp://central.example")
    with pytest.raises(ConfigError) as refused:
        load_config(bad)
    assert "central.url" in refused.value.message


def test_effective_config_merges_roster_and_replaces_routes(tmp_path: Path) -> None:
    local = load_config(write_config(tmp_path, "socket://127.0.0.1:9"))
    merged = effective_config(local, {"roster": ROSTER, "routing": ROUTING})
    assert set(merged.people) == set(local.people) | {"sunli"}
    assert [r.name for r in merged.routes] == ["镇定-公章"] and merged.route_for("official", 10**9).approvers == (
        "sunli",
        "zhangwei",
    )
    assert merged.devices == local.devices and merged.village == local.village
    # Rules that would not hold are refused, naming the problem: the local config stays.
    with pytest.raises(ConfigError, match="ghost"):
        effective_config(
            local, {"routing": {"routes": [{"seal": ["official"], "mode": "chain", "approvers": ["ghost"]}]}}
        )
    with pytest.raises(ConfigError, match="custodian"):
        effective_config(local, {"roster": {"people": [{"id": "wangfang", "name": "王芳", "roles": ["applicant"]}]}})
    with pytest.raises(ConfigError, match="zhaolei"):  # the local "large" route names zhaolei as approver
        effective_config(local, {"roster": {"people": [{"id": "zhaolei", "name": "赵磊", "roles": ["applicant"]}]}})


async def test_agent_syncs_by_itself_and_applies_central_rules(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'central.sqlite3'}"
    central = CentralProcess(db)
    config_path = _central_config(write_config(tmp_path / "village", "socket://127.0.0.1:9"), central.url)
    agent = await _agent(tmp_path, config_path)
    store = await CentralStore.open(db)
    try:
        pem = (agent.config.data_dir / "ledger_pub.pem").read_text()
        await store.enrol_edge("test-village", VILLAGE, TOWNSHIP, COUNTY, pem)
        await store.publish(f"county:{COUNTY}", "roster", ROSTER)
        await store.publish(f"township:{TOWNSHIP}", "routing", ROUTING)
        await store.publish(
            f"county:{COUNTY}", "blacklist", {"suppliers": [{"id": "S1", "name": "某公司", "reason": "诚信指数 70"}]}
        )
        with central:
            await agent.start()
            assert agent.sync is not None
            applied = await _wait(lambda: agent.ledger.entries_of_kind(CONFIG_APPLIED), 30, "the config to be applied")
            assert [r.name for r in agent.config.routes] == ["镇定-公章"] and "sunli" in agent.config.people
            assert applied[0].body["routes"] == ["镇定-公章"] and "sunli" in applied[0].body["people"]
            (received,) = await agent.ledger.entries_of_kind(CONFIG_RECEIVED)
            assert received.index < applied[0].index and received.body["hash"] == applied[0].body["hash"]

            # The approval logic follows the central rules: sunli exists only in the central roster.
            request = await agent.file_request(
                "liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL
            )
            assert request.route["rule"] == "镇定-公章" and request.route["approvers"] == ["sunli", "zhangwei"]
            await agent.approve(request.id, "sunli")
            request = await agent.approve(request.id, "zhangwei")
            assert request.status == "approved"

            # Everything reaches the store on its own, exactly once.
            size = await agent.ledger.size()
            agent.sync.trigger()
            await _wait(lambda: _store_has(store, "test-village", size), 30, "the store to catch up")
            assert await store.stored_indexes("test-village") == list(range(await store.count_entries("test-village")))

            # A township routing naming someone who is not an approver: refused, recorded, old rules kept.
            await store.publish(f"township:{TOWNSHIP}", "routing",
                                {"routes": [{"seal": ["official"], "mode": "chain", "approvers": ["liming"]}]})  # fmt: skip
            agent.sync.trigger()
            refused = await _wait(lambda: agent.ledger.entries_of_kind(CONFIG_REFUSED), 30, "the refusal")
            assert "liming" in refused[0].body["reason"]
            assert [r.name for r in agent.config.routes] == ["镇定-公章"]
            status = agent.sync.status()
            assert status["last_error"] is None and status["acked"] is not None
        await agent.close()

        # Restarted without the store: the held configuration applies from the start.
        agent = await _agent(tmp_path, config_path)
        assert "sunli" in agent.config.people and [r.name for r in agent.config.routes] == ["镇定-公章"]
        assert [r.name for r in agent.local_config.routes] == ["small", "large", "huge"]
    finally:
        await agent.close()
        await store.close()


async def _store_has(store: CentralStore, edge_id: str, size: int) -> bool:
    return await store.count_entries(edge_id) >= size


def _enforcing_config(tmp_path: Path) -> tuple[Path, Ed25519PrivateKey]:
    """A village config with the firmware allow-list on, and the release key it trusts."""
    key_path = tmp_path / "release.key"
    releasekey.generate(key_path)
    config_path = write_config(tmp_path / "village", "socket://127.0.0.1:9")
    with config_path.open("a", encoding="utf-8") as f:
        f.write(f'\n[firmware]\nrelease_pubkey = "{releasekey.public_path(key_path)}"\n')
    return config_path, releasekey.load_private(key_path)


async def test_signed_releases_on_the_central_allow_list_are_allowed(tmp_path: Path) -> None:
    config_path, private = _enforcing_config(tmp_path)
    built = release.build(tmp_path / "rel", private, 1, target="source")
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    forged = {**manifest, "security_version": 9}  # the signature no longer matches
    received = {"version": 3, "firmware": {"releases": [manifest, forged, {"firmware_hash": "e" * 64}], "revoked": []}}
    agent = await _agent(tmp_path, config_path)
    try:
        assert await agent.db.release(built.firmware_hash) is None
        await agent.apply_central_config(received, canonical_hash(received))
        assert await agent.db.release(built.firmware_hash) is not None
        (applied,) = await agent.ledger.entries_of_kind(CONFIG_APPLIED)
        assert applied.body["firmware_allowed"] == [built.firmware_hash]
        assert (
            len(applied.body["firmware_refused"]) == 1 and "signature" in applied.body["firmware_refused"][0]["reason"]
        )
    finally:
        await agent.close()


async def test_a_release_revoked_or_below_the_floor_gets_no_grants_and_cannot_come_back(tmp_path: Path) -> None:
    config_path, private = _enforcing_config(tmp_path)
    old = release.build(tmp_path / "v1", private, 1, target="source")
    source = tmp_path / "firmware-0.2.0"
    shutil.copytree(release.FIRMWARE_DIR, source)
    (source / "version.py").write_text('VERSION = "0.2.0"\n')
    new = release.build(tmp_path / "v2", private, 2, target="source", source=source)
    assert new.firmware_hash != old.firmware_hash
    manifests = [json.loads((tmp_path / v / "manifest.json").read_text()) for v in ("v1", "v2")]
    agent = await _agent(tmp_path, config_path)
    try:
        allow_both = {"version": 1, "firmware": {"releases": manifests}}
        await agent.apply_central_config(allow_both, canonical_hash(allow_both))
        for built in (old, new):
            assert await firmware.verdict(agent.db, agent.config, "QL-A", built.firmware_hash) is None

        revoke_old = {"version": 2, "firmware": {"releases": [manifests[1]], "revoked": [old.firmware_hash]}}
        await agent.apply_central_config(revoke_old, canonical_hash(revoke_old))
        assert await firmware.verdict(agent.db, agent.config, "QL-A", old.firmware_hash) == firmware.REVOKED
        assert await firmware.verdict(agent.db, agent.config, "QL-A", new.firmware_hash) is None
        applied = (await agent.ledger.entries_of_kind(CONFIG_APPLIED))[-1]
        assert applied.body["firmware_revoked"] == [old.firmware_hash]
        with pytest.raises(firmware.ReleaseError, match="撤销"):  # a technician cannot allow it again by hand
            await agent.allow_release(manifests[0])
        await agent.apply_central_config(allow_both, canonical_hash(allow_both))  # nor can an older document
        assert await firmware.verdict(agent.db, agent.config, "QL-A", old.firmware_hash) == firmware.REVOKED

        floor = {"version": 3, "firmware": {"releases": [manifests[1]], "min_security_version": 3}}
        await agent.apply_central_config(floor, canonical_hash(floor))
        assert await firmware.verdict(agent.db, agent.config, "QL-A", new.firmware_hash) == firmware.REVOKED
        lower = {"version": 4, "firmware": {"releases": [manifests[1]], "min_security_version": 1}}
        await agent.apply_central_config(lower, canonical_hash(lower))  # the floor only rises
        assert await agent.db.security_floor() == 3
    finally:
        await agent.close()
    assert verify_ledger(tmp_path / "village" / "edge").ok
