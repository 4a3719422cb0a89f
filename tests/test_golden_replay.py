"""The golden ledgers (tests/golden_flows.py): the working state they replay to, and the bodies the seal writes.

Written by the code before the edge was split into kernel, seal and modules, and committed: the split (and any
later change) must read them to the same working database, and write the same entries for the same flows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from golden_flows import GOLDEN, read_entries, replay, seal_flows

# Fields whose values come from the wall clock, not from the flow: ``approved_at`` in an expiry is the
# approval entry's timestamp (entry timestamps are the ledger's own clock, so they are not compared at all).
# Everything else in the flows is fixed by the script: device key, session, ticks (so grant MACs are equal),
# release key (Ed25519 signs deterministically), document, request numbers and the device's events.
WALL_CLOCK_FIELDS = {"seal_request.expired": ("approved_at",)}


def _comparable(kind: str, body: dict[str, Any]) -> tuple[str, str]:
    masked = {k: ("<clock>" if k in WALL_CLOCK_FIELDS.get(kind, ()) else v) for k, v in body.items()}
    return kind, json.dumps(masked, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("name", ["flows", "demo"])
async def test_golden_ledger_replays_to_its_state(name: str, tmp_path: Path) -> None:
    entries = read_entries(GOLDEN / f"{name}.entries.jsonl")
    expected = json.loads((GOLDEN / f"{name}.state.json").read_text(encoding="utf-8"))
    state = json.loads(json.dumps(await replay(entries, tmp_path)))  # tuples and bytes as the JSON file has them
    assert state.keys() >= expected.keys()
    for table, rows in expected.items():
        assert state[table] == rows, f"table {table} differs after replay"
    # A part may add tables later (empty on this ledger); none may hold rows the golden state lacks.
    assert all(not state[t] for t in state.keys() - expected.keys())


async def test_seal_flows_write_the_golden_bodies(tmp_path: Path) -> None:
    golden = [_comparable(e.kind, e.body) for e in read_entries(GOLDEN / "flows.entries.jsonl")]
    written = [_comparable(e.kind, e.body) for e in await seal_flows(tmp_path / "flows")]
    assert [k for k, _ in written] == [k for k, _ in golden]
    for (kind, body), (_, want) in zip(written, golden, strict=True):
        assert body == want, f"{kind}: body differs"
