"""The working database follows the ledger: a crash between the two commits loses nothing, applies nothing twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from edge_support import SMALL, document, writer  # noqa: F401  (writer is a fixture)

from edge.agent import EdgeAgent
from edge.kernel.db import DB_FILENAME
from edge.kernel.errors import Unavailable
from edge.seal import projection as P


async def test_entry_committed_to_the_ledger_only_is_applied_at_the_next_open(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "证明", "official", 1, document(tmp_path), amount_fen=SMALL)
    # What a crash right after the ledger's commit leaves behind: the entry, not its effect.
    await writer.ledger.append(P.APPROVAL, {"request_id": request.id, "approver": "zhangwei", "count": 1, "needed": 2})
    assert (await writer.db.request(request.id)).approvals == ()  # type: ignore[union-attr]
    config = writer.config
    await writer.close()

    reopened = await EdgeAgent.open(config)
    try:
        again = await reopened.get_request(request.id)
        assert again.approvers_done == ["zhangwei"]
        assert await reopened.db.applied_upto() == await reopened.ledger.size() - 1
        final = await reopened.approve(request.id, "chenjing")  # the chain goes on from the recovered state
        assert final.status == "approved"
    finally:
        await reopened.close()


async def test_a_lost_database_is_rebuilt_from_the_ledger(writer: EdgeAgent, tmp_path: Path) -> None:
    request = await writer.file_request("liming", "证明", "official", 2, document(tmp_path), amount_fen=SMALL)
    await writer.approve(request.id, "zhangwei")
    await writer.approve(request.id, "chenjing")
    config = writer.config
    await writer.close()
    # Keep the sealed keys (they are not records), drop every projected table.
    conn = sqlite3.connect(config.data_dir / DB_FILENAME)
    conn.executescript(
        "DELETE FROM requests; DELETE FROM approvals; DELETE FROM devices; UPDATE meta SET value='-1' WHERE key='applied_upto';"
    )
    conn.commit()
    conn.close()
    reopened = await EdgeAgent.open(config)
    try:
        rebuilt = await reopened.get_request(request.id)
        assert rebuilt.status == "approved" and rebuilt.approvers_done == ["zhangwei", "chenjing"]
        assert (await reopened.db.device_by_name("official-1")) is not None
    finally:
        await reopened.close()


async def test_database_ahead_of_the_ledger_is_refused(writer: EdgeAgent) -> None:
    config = writer.config
    await writer.close()
    conn = sqlite3.connect(config.data_dir / DB_FILENAME)
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'applied_upto'")
    conn.commit()
    conn.close()
    with pytest.raises(Unavailable) as info:
        await EdgeAgent.open(config)
    assert info.value.code == "ledger_behind"
