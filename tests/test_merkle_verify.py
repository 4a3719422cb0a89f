"""``qinglian merkle verify``: transparency-dev/merkle's published vectors, and proofs of a real ledger, valid and altered."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge.ledger import Checkpoint, Ledger
from edge.ledger.keys import public_key_b64
from edge.ledger.merkle import Frontier, consistency_proof_ranges, inclusion_proof_ranges, leaf_hash, range_hash
from qinglian.cli import main

VECTORS = Path(__file__).parent / "data" / "merkle" / "transparency-dev"
PUBLISHED = sorted(VECTORS.rglob("*.json"))
SIZE = 37  # not a power of two, so proofs have left and right siblings and a ragged right edge


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def verify(path: Path, *extra: str) -> int:
    return main(["merkle", "verify", str(path), *extra])


def write(tmp_path: Path, name: str, document: Any) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# -- published vectors -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", PUBLISHED, ids=[str(p.relative_to(VECTORS)) for p in PUBLISHED])
def test_published_vectors_pass_and_fail_as_published(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    want_error = json.loads(path.read_text(encoding="utf-8"))["wantErr"]
    assert verify(path) == (1 if want_error else 0)
    out = capsys.readouterr().out
    assert out.startswith("✗ 证明无效" if want_error else "✓")


def test_the_published_set_has_both_kinds_and_both_outcomes() -> None:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in PUBLISHED]
    kinds = {("treeSize" in d, d["wantErr"]) for d in docs}
    assert kinds == {(True, False), (True, True), (False, False), (False, True)}
    assert any("leafIndex" in d for d in docs) and any("leafIdx" in d for d in docs)


# The RFC 6962 test tree the published vectors are made from (8 leaves of 0 to 16 bytes).
RFC6962_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                             "606162636465666768696a6b6c6d6e6f")]  # fmt: skip


def test_our_proofs_are_the_published_ones() -> None:
    """The ledger's proof machinery (stored perfect subtrees, proof ranges) yields byte for byte the published proofs."""
    frontier, nodes = Frontier(), {}
    roots = [frontier.root()]
    for leaf in RFC6962_LEAVES:
        for level, index, node in frontier.append(leaf_hash(leaf)):
            nodes[(level, index)] = node
        roots.append(frontier.root())

    def proof(ranges: list[tuple[int, int]]) -> list[str]:
        return [b64(range_hash(a, b, nodes.__getitem__)) for a, b in ranges]

    compared = 0
    for path in PUBLISHED:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["wantErr"] or path.parent.name in ("additional", "single-entry"):
            continue
        if "treeSize" in doc:
            index, size = doc.get("leafIdx", doc.get("leafIndex")), doc["treeSize"]
            assert doc["root"] == b64(roots[size]) and doc["leafHash"] == b64(leaf_hash(RFC6962_LEAVES[index]))
            assert (doc["proof"] or []) == proof(inclusion_proof_ranges(index, size)), path
        else:
            assert doc["root1"] == b64(roots[doc["size1"]]) and doc["root2"] == b64(roots[doc["size2"]])
            assert (doc["proof"] or []) == proof(consistency_proof_ranges(doc["size1"], doc["size2"])), path
        compared += 1
    assert compared >= 6


# -- vectors of a real ledger ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ledger_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed ledger of SIZE entries, checkpointed every 8 (and at close)."""
    folder = tmp_path_factory.mktemp("ledger")

    async def make() -> None:
        ledger = await Ledger.open(folder, checkpoint_every=8)
        await ledger.append_many([("seal.press", {"n": i, "village": "青莲村"}) for i in range(SIZE)])
        await ledger.close()

    asyncio.run(make())
    return folder


def proof_document(ledger_dir: Path, index: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["ledger", "proof", "--data", str(ledger_dir), "--index", str(index)]) == 0
    document: dict[str, Any] = json.loads(capsys.readouterr().out)
    return document


@pytest.mark.parametrize("index", [0, 1, 8, 17, 32, SIZE - 1])
def test_ledger_proofs_verify(ledger_dir: Path, index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "proof", proof_document(ledger_dir, index, capsys))
    assert verify(path) == 0
    out = capsys.readouterr().out
    assert f"leaf {index} is in the tree of size {SIZE}" in out and "checkpoint signed by key" in out
    assert verify(path, "--key", str(ledger_dir / "ledger_pub.pem")) == 0


def _flip(hash_b64: str) -> str:
    raw = bytearray(base64.b64decode(hash_b64))
    raw[0] ^= 8
    return b64(bytes(raw))


def _alterations(doc: dict[str, Any], other_cp: dict[str, Any], other_key: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each way a proof file can lie, with the altered copy."""

    def changed(**fields: Any) -> dict[str, Any]:
        return {**json.loads(json.dumps(doc)), **fields}

    yield "one proof hash flipped", changed(proof=[_flip(doc["proof"][0]), *doc["proof"][1:]])
    yield "last proof hash flipped", changed(proof=[*doc["proof"][:-1], _flip(doc["proof"][-1])])
    yield "wrong root", changed(root=_flip(doc["root"]))
    yield "wrong index", changed(leafIdx=doc["leafIdx"] + 1)
    yield "wrong size", changed(treeSize=doc["treeSize"] - 1)  # same path shape: the signed checkpoint catches it
    yield "size doubled", changed(treeSize=doc["treeSize"] * 2)
    yield "truncated proof", changed(proof=doc["proof"][:-1])
    yield "extra proof hash", changed(proof=[*doc["proof"], doc["proof"][0]])
    yield "proofs swapped", changed(proof=[doc["proof"][1], doc["proof"][0], *doc["proof"][2:]])
    yield "another leaf", changed(leafHash=_flip(doc["leafHash"]))
    entry = json.loads(json.dumps(doc["entry"]))
    entry["body"]["n"] += 1000
    yield "entry edited", changed(entry=entry)
    yield "canonical edited", changed(canonical=doc["canonical"].replace("青莲村", "白马村"))
    cp = dict(doc["checkpoint"])
    cp["signature"] = ("0" if cp["signature"][0] != "0" else "1") + cp["signature"][1:]
    yield "checkpoint signature altered", changed(checkpoint=cp)
    yield "checkpoint of another size", changed(checkpoint=other_cp)
    yield "checkpoint's root edited", changed(checkpoint={**doc["checkpoint"], "root_hash": "00" * 32})
    yield "another key", changed(public_key=other_key)


def test_altered_ledger_proofs_are_refused(
    ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = proof_document(ledger_dir, 17, capsys)
    with sqlite3.connect(ledger_dir / "ledger.sqlite3") as conn:
        row = conn.execute("SELECT tree_size, root_hash, timestamp, signature FROM checkpoints WHERE tree_size = 16")
        older = Checkpoint(*row.fetchone()).to_dict()  # genuinely signed, but for another tree
    other_key = public_key_b64(Ed25519PrivateKey.generate().public_key())
    for what, altered in _alterations(doc, older, other_key):
        path = write(tmp_path, what.replace(" ", "-"), altered)
        assert verify(path) == 1, what
        assert capsys.readouterr().out.startswith("✗ 证明无效 proof NOT valid: "), what
    # The file's own key vouches for nothing: --key pins the enrolled one.
    path = write(tmp_path, "valid", doc)
    assert verify(path, "--key", other_key) == 1
    assert "--key" in capsys.readouterr().out


def test_ledger_consistency_proofs(ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async def proofs() -> list[dict[str, Any]]:
        ledger = await Ledger.open_reader(ledger_dir)
        try:
            out = []
            for old in (1, 2, 8, 13, 32, 36, SIZE):
                proof = await ledger.consistency_proof(old, SIZE)
                out.append({"size1": old, "size2": SIZE, "root1": b64(await ledger.root_hash(old)),
                            "root2": b64(await ledger.root_hash(SIZE)), "proof": [b64(p) for p in proof]})  # fmt: skip
            return out
        finally:
            await ledger.close()

    for doc in asyncio.run(proofs()):
        assert verify(write(tmp_path, f"c{doc['size1']}", doc)) == 0, doc["size1"]
        if doc["size1"] == SIZE:
            continue
        for what, altered in {
            "flipped": {**doc, "proof": [_flip(doc["proof"][0]), *doc["proof"][1:]]},
            "swapped roots": {**doc, "root1": doc["root2"], "root2": doc["root1"]},
            "size1 + 1": {**doc, "size1": doc["size1"] + 1},
            # (A size is bound by a signed checkpoint, not by the proof: size2 ± 1 can keep the path's shape.)
            "size2 * 2": {**doc, "size2": doc["size2"] * 2},
            "size2 div 2": {**doc, "size2": doc["size2"] // 2},
            "truncated": {**doc, "proof": doc["proof"][:-1]},
            "wrong root1": {**doc, "root1": _flip(doc["root1"])},
        }.items():
            assert verify(write(tmp_path, "bad", altered)) == 1, (doc["size1"], what)
    capsys.readouterr()


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"leafIdx": 0, "treeSize": 1, "leafHash": "", "proof": []}', "missing root"),
        ('{"leafIdx": 0, "treeSize": 1, "root": "%%%", "leafHash": "", "proof": []}', "root: 不是 base64"),
        ('{"leafIdx": 0, "treeSize": -1, "root": "", "leafHash": "", "proof": []}', "treeSize"),
        ('{"leafIdx": true, "treeSize": 1, "root": "", "leafHash": "", "proof": []}', "leafIdx"),
        ('{"leafIdx": 0, "leafIndex": 1, "treeSize": 2, "root": "", "leafHash": "", "proof": []}', "disagree"),
        ('{"leafIdx": 0, "treeSize": 1, "root": "", "leafHash": "", "proof": "abc"}', "proof"),
        ('{"treeSize": 1, "size1": 0, "size2": 1, "root": "", "leafHash": "", "proof": []}', "neither"),
        ('{"size1": 0, "root1": "", "root2": "", "proof": []}', "size2"),
        ('{"leafIdx": 0, "treeSize": 1, "root": "", "leafHash": "", "proof": [], "checkpoint": {}}', "checkpoint"),
    ],
)
def test_malformed_files_exit_2(tmp_path: Path, content: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    assert verify(path) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_bad_key_exit_2(ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert verify(tmp_path / "absent.json") == 2
    assert "cannot read" in capsys.readouterr().err
    path = write(tmp_path, "p", proof_document(ledger_dir, 5, capsys))
    assert verify(path, "--key", "not-a-key") == 2
    assert "--key" in capsys.readouterr().err
    consistency = write(tmp_path, "c", {"size1": 1, "size2": 1, "root1": "", "root2": "", "proof": []})
    assert verify(consistency, "--key", str(ledger_dir / "ledger_pub.pem")) == 2


def test_json_verdict(ledger_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = proof_document(ledger_dir, 5, capsys)
    assert verify(write(tmp_path, "ok", doc), "--json") == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["valid"] and verdict["kind"] == "inclusion" and len(verdict["checked"]) == 3
    assert verify(write(tmp_path, "bad", {**doc, "treeSize": 99}), "--json") == 1
    verdict = json.loads(capsys.readouterr().out)
    assert not verdict["valid"] and "99" in verdict["reason"]
