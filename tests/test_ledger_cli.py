"""``qinglian ledger proof`` and ``qinglian ledger pubkey``: read-only, also beside the ledger's writer."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.ledger import Ledger, LedgerError, load_public_key
from edge.ledger.keys import public_key_pem
from edge.ledger.merkle import inclusion_proof_ranges
from edge.ledger.wire import EDGE_ID_FILENAME, default_edge_id
from qinglian.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def _ledger(folder: Path, n: int, checkpoint_every: int = 8) -> Ledger:
    ledger = await Ledger.open(folder, checkpoint_every=checkpoint_every)
    await ledger.append_many([("seal.press", {"n": i}) for i in range(n)])
    return ledger


def test_proof_is_self_contained_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def make() -> None:
        await (await _ledger(tmp_path / "edge", 21)).close()  # closing signs the tail: checkpoint of 21

    asyncio.run(make())
    for index in (0, 7, 20):
        code, out, _ = run(capsys, "ledger", "proof", "--data", str(tmp_path / "edge"), "--index", str(index))
        assert code == 0
        doc = json.loads(out)
        assert {"leafIdx", "treeSize", "root", "leafHash", "proof", "entry", "canonical", "checkpoint", "public_key",
                "edge"} <= set(doc)  # fmt: skip
        assert doc["leafIdx"] == index and doc["treeSize"] == 21 and doc["entry"]["body"] == {"n": index}
        assert len(doc["proof"]) == len(inclusion_proof_ranges(index, 21))
        assert base64.b64decode(doc["root"]).hex() == doc["checkpoint"]["root_hash"]
        assert doc["edge"] == default_edge_id(load_public_key(tmp_path / "edge" / "ledger_pub.pem"))
        path = tmp_path / f"p{index}.json"
        path.write_text(out, encoding="utf-8")
        assert run(capsys, "merkle", "verify", str(path))[0] == 0


def test_proof_beside_the_writer_and_beyond_the_latest_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agent keeps the ledger open; an entry past its latest checkpoint has no proof yet: exit 1."""

    async def scenario() -> None:
        writer = await _ledger(tmp_path / "edge", 16)  # checkpoints at 8 and 16
        try:
            await writer.append_many([("seal.press", {"n": i}) for i in range(16, 19)])  # 19 entries, latest cp 16
            code, out, err = await asyncio.to_thread(
                run, capsys, "ledger", "proof", "--data", str(tmp_path / "edge"), "--index", "15"
            )
            assert code == 0 and json.loads(out)["treeSize"] == 16
            code, out, err = await asyncio.to_thread(
                run, capsys, "ledger", "proof", "--data", str(tmp_path / "edge"), "--index", "17"
            )
            assert code == 1 and out == ""
            assert "entry 17 is not under the latest checkpoint" in err and "0..15" in err
            await writer.checkpoint()
            code, out, _ = await asyncio.to_thread(
                run, capsys, "ledger", "proof", "--data", str(tmp_path / "edge"), "--index", "17"
            )
            assert code == 0 and json.loads(out)["treeSize"] == 19
            assert await writer.size() == 19  # the reader changed nothing
        finally:
            await writer.close()

    asyncio.run(scenario())


def test_proof_of_an_unsigned_ledger_and_of_no_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def scenario() -> None:
        writer = await _ledger(tmp_path / "edge", 3)  # no checkpoint yet (every 8)
        try:
            code, _, err = await asyncio.to_thread(
                run, capsys, "ledger", "proof", "--data", str(tmp_path / "edge"), "--index", "0"
            )
            assert code == 1 and "no signed checkpoint yet" in err
        finally:
            await writer.close()

    asyncio.run(scenario())
    code, _, err = run(capsys, "ledger", "proof", "--data", str(tmp_path / "nothing"), "--index", "0")
    assert code == 2 and "no ledger" in err
    assert not (tmp_path / "nothing").exists()  # reading never creates
    with pytest.raises(SystemExit) as usage:
        main(["ledger", "proof", "--data", str(tmp_path / "edge"), "--index", "-1"])
    assert usage.value.code == 2


def test_pubkey_prints_the_edge_and_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "edge"

    async def make() -> None:
        await (await _ledger(folder, 10)).close()

    asyncio.run(make())
    code, out, _ = run(capsys, "ledger", "pubkey", "--data", str(folder), "--json")
    assert code == 0
    printed: dict[str, Any] = json.loads(out)
    assert set(printed) == {"edge", "public_key"}
    key = load_public_key(folder / "ledger_pub.pem")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64decode(printed["public_key"]) == raw
    assert printed["edge"] == default_edge_id(key) and printed["edge"].startswith("edge-")
    # Once the edge has synced under a configured id, that id is the one printed.
    (folder / EDGE_ID_FILENAME).write_text("xs-heshang-qinglian\n", encoding="utf-8")
    code, out, _ = run(capsys, "ledger", "pubkey", "--data", str(folder))
    assert code == 0 and "xs-heshang-qinglian" in out and printed["public_key"] in out
    assert "qinglian central enrol --db URL --edge xs-heshang-qinglian --key " in out


def test_pubkey_refuses_a_key_that_did_not_sign_the_ledger(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "edge"

    async def make() -> None:
        await (await _ledger(folder, 10)).close()

    asyncio.run(make())
    (folder / "ledger_pub.pem").write_bytes(public_key_pem(Ed25519PrivateKey.generate().public_key()))
    code, out, err = run(capsys, "ledger", "pubkey", "--data", str(folder), "--json")
    assert code == 1 and out == "" and "did not sign" in err
    code, _, err = run(capsys, "ledger", "pubkey", "--data", str(tmp_path / "none"), "--json")
    assert code == 2 and "no ledger" in err


def test_a_reader_cannot_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        writer = await _ledger(tmp_path / "edge", 10)  # checkpoint at 8; 9 and 10 not signed yet
        reader = await Ledger.open_reader(tmp_path / "edge")
        try:
            assert reader.read_only and await reader.size() == 10
            with pytest.raises(LedgerError, match="cannot append or sign"):
                await reader.append("seal.press", {"n": 10})
            with pytest.raises(LedgerError, match="cannot append or sign"):
                await reader.checkpoint()
            await writer.append("seal.press", {"n": 10})
            assert await reader.size() == 10  # a reader's view moves only when it refreshes
            await reader.refresh()
            assert await reader.size() == 11 and (await reader.latest_checkpoint()).tree_size == 8  # type: ignore[union-attr]
        finally:
            await reader.close()  # signs nothing
            await writer.close()

    asyncio.run(scenario())
