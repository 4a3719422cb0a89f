"""The parallel check of a ledger agrees with the one pass on every sound ledger, whatever the chunks; on an edited
one it never answers (tests/test_ledger_verify.py runs every edit both ways)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_ledger_proofs import as_version_1

from edge.ledger import Ledger, load_public_key, verify_ledger
from edge.ledger import verify_parallel
from edge.ledger.verify_parallel import verified_in_parallel


async def _ledger(folder: Path, size: int, every: int) -> Path:
    async with await Ledger.open(folder, checkpoint_every=every) as ledger:
        for first in range(0, size, 50):  # batches and single appends: checkpoints inside batches and between
            await ledger.append_many([("seal.press", {"n": i}) for i in range(first, min(first + 45, size))])
            for i in range(first + 45, min(first + 50, size)):
                await ledger.append("approval", {"n": i})
    return folder


@pytest.mark.parametrize("size", [1, 15, 16, 17, 63, 64, 65, 100, 257])
@pytest.mark.parametrize(("every", "chunk"), [(8, 16), (16, 16), (5, 32), (64, 64), (3, 4)])
async def test_a_sound_ledger_checks_out_in_any_chunks(tmp_path: Path, size: int, every: int, chunk: int) -> None:
    folder = await _ledger(tmp_path, size, every)
    report = verify_ledger(folder, workers=1)
    assert report.ok
    key = load_public_key(folder / "ledger_pub.pem")
    assert verified_in_parallel(folder, key, 2, chunk) == (report.entries, report.checkpoints)
    assert verify_ledger(folder, workers=2) == report  # under the size where it is worth it: the one pass


async def test_a_version_1_ledger_upgraded_in_place_checks_out(tmp_path: Path) -> None:
    await _ledger(tmp_path, 77, 16)
    as_version_1(tmp_path)  # its leaves as level-0 nodes, no leaf_hash column
    async with await Ledger.open(tmp_path, checkpoint_every=16) as ledger:  # upgraded; then 60 entries more
        await ledger.append_many([("k", {"n": i}) for i in range(77, 137)])
    report = verify_ledger(tmp_path, workers=1)
    key = load_public_key(tmp_path / "ledger_pub.pem")
    assert report.ok and verified_in_parallel(tmp_path, key, 2, 16) == (report.entries, report.checkpoints)


async def test_without_the_key_or_a_second_worker_it_leaves_it_to_the_one_pass(tmp_path: Path) -> None:
    folder = await _ledger(tmp_path, 40, 8)
    key = load_public_key(folder / "ledger_pub.pem")
    assert verified_in_parallel(folder, None, 2, 16) is None
    assert verified_in_parallel(folder, key, 1, 16) is None


async def test_chunks_are_cut_for_any_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(verify_parallel, "MIN_ENTRIES", 1)
    monkeypatch.setattr(verify_parallel, "MIN_CHUNK", 2)
    for size in (1, 2, 3, 7, 9):  # fewer entries than workers times chunks a worker
        folder = await _ledger(tmp_path / str(size), size, 4)
        key = load_public_key(folder / "ledger_pub.pem")
        report = verify_ledger(folder, workers=1)
        assert verified_in_parallel(folder, key, 3) == (report.entries, report.checkpoints), size
