"""`qinglian procurement export-ocds`: the demands that went up to the township, as an OCDS 1.1 release package
that validates against the official schema (tests/data/ocds) and that the Open Contracting Partnership's own
tool reads: `ocdskit detect-format` names it a release package, `ocdskit compile --package` compiles it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from edge_support import DEVICE, config_for, qinglian
from referencing import Registry
from referencing.jsonschema import DRAFT4

from edge.agent import EdgeAgent
from edge.modules import PARTS
from edge.modules.procurement import PROCUREMENT
from edge.seal.keystore import DeviceIdentity
from hostsim import flash

OCDS = Path(__file__).resolve().parent / "data" / "ocds"  # OCDS 1.1.5, kept in the repository (README there)
WITH_PROCUREMENT = PARTS if PROCUREMENT in PARTS else (*PARTS, PROCUREMENT)


@pytest.fixture
async def exported(tmp_path: Path) -> dict[str, Any]:
    """The demo's procurement on a village's edge, exported (a demand with the township, one paid deal)."""
    flash.prepare(tmp_path / "board")
    ident = flash.read_identity(tmp_path / "board")
    assert ident is not None
    agent = await EdgeAgent.open(config_for(tmp_path, "socket://127.0.0.1:9", ident.device_id), parts=WITH_PROCUREMENT)
    try:
        await agent.enrol(DeviceIdentity(ident.device_id, ident.key), DEVICE)
        assert PROCUREMENT.demo is not None
        await PROCUREMENT.demo(agent)
    finally:
        await agent.close()
    out = tmp_path / "ocds.json"
    result = qinglian(
        "procurement", "export-ocds", "--config", str(tmp_path / "edge.toml"), "--out", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"releases": 2, "out": str(out)}
    return {"path": out, "data": json.loads(out.read_text(encoding="utf-8"))}


def schema_errors(package: Any) -> list[str]:
    """What the official release package schema finds wrong with ``package`` (nothing: [])."""
    schema = json.loads((OCDS / "release-package-schema.json").read_text(encoding="utf-8"))
    release_schema = json.loads((OCDS / "release-schema.json").read_text(encoding="utf-8"))
    # The package's $ref to the release schema's URL resolves to the file beside it (no network).
    registry = Registry().with_resource(release_schema["id"], DRAFT4.create_resource(release_schema))
    validator = jsonschema.Draft4Validator(
        schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(package), key=lambda e: list(e.path))
    return [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_package_validates_against_the_official_schema(exported: dict[str, Any]) -> None:
    assert schema_errors(exported["data"]) == []
    releases = exported["data"]["releases"]
    by_tender = {r["tender"]["id"]: r for r in releases}
    assert set(by_tender) == {"XQ-00002", "XQ-00003"}  # the demand still in the village's approval is not public
    done = by_tender["XQ-00003"]
    assert done["tag"] == ["tender", "award", "contract", "implementation"]
    assert done["tender"]["value"] == {"amount": 14000, "currency": "CNY"}  # the ceiling: 4 × 3,500.00
    assert (
        done["awards"][0]["value"] == {"amount": 12360, "currency": "CNY"}
        and done["bids"]["statistics"][0]["value"] == 3
    )
    [paid] = done["contracts"][0]["implementation"]["transactions"]
    assert paid["value"]["amount"] == 12360 and paid["payee"]["name"] == "绍兴诚信电器有限公司"
    assert by_tender["XQ-00002"]["tag"] == ["tender"] and by_tender["XQ-00002"]["tender"]["status"] == "active"


def test_ocdskit_reads_it_as_a_release_package_and_compiles_its_records(exported: dict[str, Any]) -> None:
    ocdskit = str(Path(sys.executable).parent / "ocdskit")  # installed with the tests' extras, beside this Python
    detected = subprocess.run(
        [ocdskit, "detect-format", str(exported["path"])], capture_output=True, text=True, timeout=60, check=False
    )
    assert detected.returncode == 0 and "release package" in detected.stdout, detected.stdout + detected.stderr
    with exported["path"].open("rb") as data:
        compiled = subprocess.run([ocdskit, "compile", "--schema", str(OCDS / "release-schema.json"), "--package"],
                                  stdin=data, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert compiled.returncode == 0 and compiled.stderr == "", compiled.stderr
    records = json.loads(compiled.stdout)["records"]
    assert sorted(r["ocid"] for r in records) == [
        r["ocid"] for r in sorted(exported["data"]["releases"], key=lambda r: r["ocid"])
    ]
    assert all(r["compiledRelease"]["tender"]["value"]["currency"] == "CNY" for r in records)
