"""`ledger proof` on a running edge: the agent signs a checkpoint on a timer when entries came since the last one,
so an entry is provable without waiting for 64 more or for the shutdown (issue 15)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from edge_support import SMALL, document, qinglian, running_agent

from edge.seal import projection as P
from hostsim.control import SimBoard


async def test_a_running_edge_signs_a_checkpoint_on_its_timer(tmp_path: Path, board: SimBoard) -> None:
    agent = await running_agent(tmp_path, board)
    try:
        request = await agent.file_request("liming", "村委会证明", "official", 1, document(tmp_path), amount_fen=SMALL)
        (filed,) = [e for e in await agent.ledger.entries_of_kind(P.FILED) if e.body["request_id"] == request.id]
        data = str(agent.config.data_dir)
        before = await asyncio.to_thread(qinglian, "ledger", "proof", "--data", data, "--index", str(filed.index))
        assert before.returncode != 0 and "每 60 秒" in before.stderr  # the default timer has not come round yet
        signed = await agent.ledger.latest_checkpoint()
        agent.checkpoint_every_s = 0.2  # the timer, shortened for the test
        size = await agent.ledger.size()
        for _ in range(200):
            await agent.next_pass(10)
            latest = await agent.ledger.latest_checkpoint()
            if latest is not None and latest.tree_size >= size:
                break
        assert latest is not None and latest.tree_size >= size and latest != signed
        proof = await asyncio.to_thread(qinglian, "ledger", "proof", "--data", data, "--index", str(filed.index))
        assert proof.returncode == 0, proof.stderr
        assert json.loads(proof.stdout)["leafIdx"] == filed.index
    finally:
        await agent.close()
