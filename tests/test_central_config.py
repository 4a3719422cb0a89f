"""Configuration flowing down: published per county/township/village, merged per edge, recorded in its ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from central_support import (  # noqa: F401 - fixtures
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    Ledgers,
    asgi_transport,
    db_url,
    enrol,
    ledgers,
    store,
)

from central.configdocs import ConfigDocError
from central.store import CentralStore
from edge.kernel.sync import CONFIG_FILENAME, SyncClient, load_received_config
from edge.ledger.wire import CONFIG_RECEIVED, canonical_hash

FW_A = "a" * 64
FW_B = "b" * 64
FW_C = "c" * 64

ROSTER = {
    "people": [
        {"id": "zhangwei", "name": "张伟", "roles": ["approver"]},
        {"id": "chenjing", "name": "陈静", "roles": ["approver", "applicant"]},
        {"id": "wangfang", "name": "王芳", "roles": ["custodian"]},
    ]
}
ROUTING = {
    "routes": [
        {"name": "公章-一般", "seal": ["official"], "max_fen": 1_000_000, "mode": "chain", "approvers": ["zhangwei", "chenjing"]},
        {"name": "公章-大额", "seal": ["official"], "min_fen": 1_000_000, "mode": "n_of_m", "n": 2,
         "approvers": ["zhangwei", "chenjing"]},
    ]
}  # fmt: skip


async def test_county_config_reaches_a_village_edge_and_its_ledger(
    ledgers: Ledgers, store: CentralStore, tmp_path: Path
) -> None:
    ledger = await ledgers.open("edge", 10)
    await enrol(store, "qinglian", tmp_path / "edge")
    await store.publish(f"county:{COUNTY}", "firmware", {"releases": [{"firmware_hash": FW_A, "version": "1.0.0",
                                                                     "security_version": 1}]})  # fmt: skip
    await store.publish(
        f"county:{COUNTY}", "blacklist", {"suppliers": [{"id": "S1", "name": "某建材公司", "reason": "诚信指数 72"}]}
    )
    await store.publish("county:余杭区", "firmware", {"releases": [{"firmware_hash": FW_C}]})  # another county's
    await store.publish(f"township:{TOWNSHIP}", "routing", ROUTING)
    await store.publish(f"village:{VILLAGE}", "roster", ROSTER)

    received: list[str] = []
    client = SyncClient(
        ledger, "http://central", "qinglian", transport=asgi_transport(store), on_config=lambda c, h: received.append(h)
    )
    result = await client.sync_once()
    assert result.config_changed and len(received) == 1

    held = load_received_config(tmp_path / "edge")
    assert held is not None and held["config_hash"] == received[0] == canonical_hash(held["config"])
    config = held["config"]
    assert [r["firmware_hash"] for r in config["firmware"]["releases"]] == [FW_A]  # not the other county's
    assert config["blacklist"]["suppliers"][0]["id"] == "S1"
    assert config["routing"] == ROUTING
    assert {p["id"]: p["village"] for p in config["roster"]["people"]} == dict.fromkeys(
        ["chenjing", "wangfang", "zhangwei"], VILLAGE
    )
    assert {s["scope"] for s in config["sources"]} == {f"county:{COUNTY}", f"township:{TOWNSHIP}", f"village:{VILLAGE}"}

    # Recorded once in the edge's ledger, with the version and the hash, and pushed to the store with the rest.
    (entry,) = await ledger.entries_of_kind(CONFIG_RECEIVED)
    assert entry.body["hash"] == held["config_hash"] and entry.body["version"] == config["version"]
    assert result.next_index == await ledger.size() == entry.index + 1
    assert await store.stored_indexes("qinglian") == list(range(await ledger.size()))
    (row,) = await store.status()
    assert row["config_hash"] == held["config_hash"]

    # Nothing new: nothing recorded again.
    again = await client.sync_once()
    assert not again.config_changed and len(await ledger.entries_of_kind(CONFIG_RECEIVED)) == 1

    # A new county version arrives on the next push's reply; a revocation at township level applies.
    await ledger.append("seal.press", {"n": 1})
    await store.publish(
        f"county:{COUNTY}", "firmware", {"releases": [{"firmware_hash": FW_A}, {"firmware_hash": FW_B}]}
    )
    await store.publish(f"township:{TOWNSHIP}", "firmware", {"revoked": [FW_A]})
    result = await client.sync_once()
    assert result.config_changed
    held = load_received_config(tmp_path / "edge")
    assert [r["firmware_hash"] for r in held["config"]["firmware"]["releases"]] == [FW_B]
    assert held["config"]["firmware"]["revoked"] == [FW_A]
    assert len(await ledger.entries_of_kind(CONFIG_RECEIVED)) == 2
    assert await store.stored_indexes("qinglian") == list(range(await ledger.size()))
    await client.stop()


async def test_a_lost_config_file_is_fetched_again_but_recorded_once(
    ledgers: Ledgers, store: CentralStore, tmp_path: Path
) -> None:
    ledger = await ledgers.open("edge", 3)
    await enrol(store, "qinglian", tmp_path / "edge")
    await store.publish(f"county:{COUNTY}", "firmware", {"releases": [{"firmware_hash": FW_A}]})
    client = SyncClient(ledger, "http://central", "qinglian", transport=asgi_transport(store))
    await client.sync_once()
    (tmp_path / "edge" / CONFIG_FILENAME).write_text("{ damaged")
    assert load_received_config(tmp_path / "edge") is None
    restarted = SyncClient(ledger, "http://central", "qinglian", transport=asgi_transport(store))
    result = await restarted.sync_once()
    assert load_received_config(tmp_path / "edge") is not None
    assert not result.config_changed
    assert len(await ledger.entries_of_kind(CONFIG_RECEIVED)) == 1
    await client.stop()
    await restarted.stop()


async def test_scopes_merge_most_specific_last(ledgers: Ledgers, store: CentralStore, tmp_path: Path) -> None:
    await ledgers.open("a")
    await ledgers.open("b")
    await enrol(store, "a", tmp_path / "a", village="青莲村")
    await enrol(store, "b", tmp_path / "b", village="白马村", township="浦阳镇")
    await store.publish(
        f"county:{COUNTY}", "roster", {"people": [{"id": "zhangwei", "name": "张伟", "roles": ["approver"]}]}
    )
    await store.publish(f"village:{COUNTY}/{TOWNSHIP}/青莲村", "roster",
                        {"people": [{"id": "zhangwei", "name": "张伟(村)", "roles": ["approver", "applicant"]}]})  # fmt: skip
    await store.publish(
        "township:浦阳镇", "blacklist", {"contractors": [{"id": "C9", "name": "某施工队", "reason": "串标"}]}
    )
    await store.publish(
        f"county:{COUNTY}", "blacklist", {"contractors": [{"id": "C1", "name": "另一施工队", "reason": "质量"}]}
    )
    a, _ = await store.merged_config("a")
    b, _ = await store.merged_config("b")
    assert a["roster"]["people"][0]["name"] == "张伟(村)"
    assert b["roster"]["people"][0]["name"] == "张伟"
    assert [c["id"] for c in a["blacklist"]["contractors"]] == ["C1"]
    assert [c["id"] for c in b["blacklist"]["contractors"]] == ["C1", "C9"]
    assert a["routing"] is None and a["firmware"] is None
    # Versions count per scope and kind; the merged version is the newest document that went in.
    second = await store.publish(f"county:{COUNTY}", "roster", {"people": []})
    assert second["version"] == 2
    a2, _ = await store.merged_config("a")
    assert a2["version"] == second["seq"] and a2["roster"]["people"][0]["name"] == "张伟(村)"


@pytest.mark.parametrize(
    ("kind", "document", "message"),
    [
        ("roster", {"people": [{"id": "张伟", "name": "x", "roles": ["approver"]}]}, "roster.people[0].id"),
        ("roster", {"people": [{"id": "a", "name": "x", "roles": ["king"]}]}, "roster.people[0].roles[0]"),
        (
            "routing",
            {"routes": [{"seal": ["official"], "mode": "n_of_m", "approvers": ["a"], "n": 2}]},
            "routing.routes[0].n",
        ),
        (
            "routing",
            {"routes": [{"seal": ["stamp"], "mode": "chain", "approvers": ["a"]}]},
            "routing.routes[0].seal[0]",
        ),
        ("firmware", {"releases": [{"firmware_hash": "ABC"}]}, "firmware.releases[0].firmware_hash"),
        ("firmware", {"releases": [{"firmware_hash": FW_A, "security_version": 1.5}]}, "security_version"),
        ("blacklist", {"suppliers": [{"id": "S1", "name": "x"}]}, "blacklist.suppliers[0]"),
        ("blacklist", {"vendors": []}, "vendors"),
        ("colour", {}, "unknown kind"),
    ],
)
async def test_bad_documents_are_refused_with_the_place_named(
    store: CentralStore, kind: str, document: dict, message: str
) -> None:
    with pytest.raises(ConfigDocError) as refused:
        await store.publish(f"county:{COUNTY}", kind, document)
    assert message in str(refused.value)
    assert await store.config_documents() == []


async def test_bad_scopes_are_refused(store: CentralStore) -> None:
    for scope in ("province:浙江", "county:", "township", "village:a//b"):
        with pytest.raises(ConfigDocError):
            await store.publish(scope, "firmware", {"revoked": [FW_A]})
    assert await store.config_documents() == []


def test_publish_and_enrol_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from edge.ledger import Ledger
    from qinglian.cli import main

    async def make(folder: Path) -> None:
        ledger = await Ledger.open(folder)
        await ledger.close()

    asyncio.run(make(tmp_path / "edge"))
    db = f"sqlite:///{tmp_path / 'c.sqlite3'}"
    doc = tmp_path / "fw.json"
    doc.write_text(json.dumps({"releases": [{"firmware_hash": FW_A, "version": "1.0.0"}]}))
    enrol_args = ["central", "enrol", "--db", db, "--edge", "qinglian", "--village", VILLAGE,
                  "--township", TOWNSHIP, "--county", COUNTY, "--key", str(tmp_path / "edge" / "ledger_pub.pem")]  # fmt: skip
    assert main(enrol_args) == 0
    assert main(["central", "publish", "--db", db, "--scope", f"county:{COUNTY}", "--kind", "firmware",
                 "--file", str(doc), "--json"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert json.loads(out.strip().splitlines()[-1])["version"] == 1
    # Bad input: a clear message, exit 1, nothing changed.
    doc.write_text(json.dumps({"releases": [{"firmware_hash": "nothex"}]}))
    assert (
        main(
            ["central", "publish", "--db", db, "--scope", f"county:{COUNTY}", "--kind", "firmware", "--file", str(doc)]
        )
        == 1
    )
    assert "firmware_hash" in capsys.readouterr().err
    assert main(["central", "status", "--db", db, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["edge_id"] == "qinglian" and row["entries"] == 0 and not row["flagged"]
    # Another key for an enrolled edge is refused: its signed history would be disowned.
    other = tmp_path / "other"
    asyncio.run(make(other))
    assert main([*enrol_args[:-1], str(other / "ledger_pub.pem")]) == 1
    assert main(["central", "issue-token", "--db", db, "--scope", f"township:{TOWNSHIP}"]) == 0
    assert len(capsys.readouterr().out.strip()) > 30
    assert main(["central", "issue-token", "--db", db, "--scope", "village:x"]) == 1
