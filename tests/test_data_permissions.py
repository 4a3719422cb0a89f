"""The edge's data is its own user's alone, whatever the umask: every file 0600 (or 0400), every folder 0700.

An agent runs under the common umask 022 with everything that writes into its data folder switched on:
the ledger and its keys, the working database, the console's store and an uploaded original, a press
photographed and read into the search index, push keys, a configuration received from the central store,
and the master key in its own folder. Then both folders are walked.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from edge_support import running_agent
from test_web_uploads_hostile import APPLICANTS, LIMITS, console_for

from edge.ledger.private import create_private, open_private, private_dir
from edge.ledger.wire import canonical_hash
from edge.notify.webpush import VapidKeys
from edge.ocr.desk import seal_zone
from edge.ocr.settings import CameraSettings
from edge.web.demo import sample_png
from hostsim.control import SimBoard


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def too_open(*roots: Path) -> list[str]:
    """Everything under ``roots`` that a group or other user could read, write or enter."""
    found = []
    for root in roots:
        for path in [root, *root.rglob("*")]:
            mode = stat.S_IMODE(path.lstat().st_mode)
            if mode & 0o077:
                found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


def test_the_helpers_give_the_mode_at_creation(tmp_path: Path, umask_022: None) -> None:
    folder = private_dir(tmp_path / "a" / "b" / "c")
    with open_private(folder / "x.txt", "w") as f:
        f.write("秘密")
    database = create_private(tmp_path / "d" / "db.sqlite3")
    assert (folder / "x.txt").read_text(encoding="utf-8") == "秘密" and database.stat().st_size == 0
    with pytest.raises(FileExistsError):
        open_private(folder / "x.txt", exclusive=True)
    assert too_open(tmp_path / "a", tmp_path / "d") == []


async def test_nothing_in_the_data_folder_is_readable_by_others(tmp_path: Path, umask_022: None) -> None:
    with SimBoard(tmp_path / "board", camera=True) as board:
        assert board.camera_url
        agent = await running_agent(tmp_path, board, CameraSettings(board.camera_url, seal_zone()))
        try:
            async with console_for(agent, LIMITS, APPLICANTS[0]) as (liming,):
                filed = await liming.file("盖章", name="scan.png", data=sample_png())
                assert filed.status_code == 201, filed.text
            rid = filed.json()["id"]
            await agent.approve(rid, "zhangwei")
            await agent.approve(rid, "chenjing")
            await agent.wait_request(rid, {"in_use"}, 20)
            await asyncio.to_thread(board.control.press)
            await agent.wait_request(rid, {"closed"}, 20)
            assert agent.evidence is not None
            await agent.evidence.idle(120)
            await asyncio.to_thread(VapidKeys.load_or_create, agent.config.data_dir)
            received = {"roster": {"people": [{"id": "sunli", "name": "孙立", "roles": ["approver"]}]}}
            await agent.apply_central_config(received, canonical_hash(received))
            data = agent.config.data_dir
            running = {p.relative_to(data).parts[0] for p in data.rglob("*")}  # SQLite's -wal and -shm files too
            assert too_open(data, agent.config.key_file.parent) == []
        finally:
            await agent.close()
    assert {"photos", "documents", "secrets", "ledger.sqlite3-wal", "edge.sqlite3-shm", "web.sqlite3", "search.db"} <= running
    assert too_open(data, agent.config.key_file.parent) == []
