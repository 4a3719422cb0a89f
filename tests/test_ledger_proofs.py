"""Merkle tree, proofs and their verification against an independent naive RFC 6962 implementation."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.ledger import Ledger, encode_entry, verify_ledger
from edge.ledger.merkle import (
    EMPTY_ROOT,
    NODE_MIN_LEVEL,
    Frontier,
    consistency_proof_ranges,
    fold_small,
    inclusion_proof_ranges,
    kept_subtrees,
    leaf_hash,
    perfect_nodes,
    range_hash,
    split_kept,
    split_point,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 70


# -- the naive reference: RFC 6962 §2.1 transcribed literally, recursion over lists of leaf data


def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(leaves: list[bytes]) -> bytes:
    if not leaves:
        return _sha(b"")
    if len(leaves) == 1:
        return _sha(b"\x00" + leaves[0])
    k = _k(len(leaves))
    return _sha(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:]))


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _k(len(leaves))
    if m < k:
        return naive_path(m, leaves[:k]) + [naive_mth(leaves[k:])]
    return naive_path(m - k, leaves[k:]) + [naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = _k(n)
    if m <= k:
        return naive_subproof(m, leaves[:k], b) + [naive_mth(leaves[k:])]
    return naive_subproof(m - k, leaves[k:], False) + [naive_mth(leaves[:k])]


def naive_consistency(m: int, leaves: list[bytes]) -> list[bytes]:
    return naive_subproof(m, leaves, True)


LEAVES = [f"leaf {i} 用印".encode() for i in range(MAX_SIZE)]
ROOTS = [naive_mth(LEAVES[:n]) for n in range(MAX_SIZE + 1)]
# Every perfect subtree, computed the naive way: what the store keeps in its nodes table.
NODES = {
    (level, index): naive_mth(LEAVES[index << level : (index + 1) << level])
    for level in range(MAX_SIZE.bit_length())
    for index in range(MAX_SIZE >> level)
}


def lookup(node: tuple[int, int]) -> bytes:
    return NODES[node]


# -- known answers from the Certificate Transparency reference implementation

CT_LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_known_answer_roots_from_certificate_transparency() -> None:
    frontier = Frontier()
    for leaf, expected in zip(CT_LEAVES, CT_ROOTS, strict=True):
        frontier.append(leaf_hash(leaf))
        assert frontier.root().hex() == expected
    assert Frontier().root() == EMPTY_ROOT == naive_mth([])


def test_split_point() -> None:
    assert [split_point(n) for n in range(2, 10)] == [1, 2, 2, 4, 4, 4, 4, 8]
    with pytest.raises(ValueError):
        split_point(1)


def test_frontier_roots_and_completed_subtrees_match_naive() -> None:
    frontier = Frontier()
    emitted = {}
    for n, leaf in enumerate(LEAVES, start=1):
        for level, index, node in frontier.append(leaf_hash(leaf)):
            emitted[(level, index)] = node
        assert frontier.root() == ROOTS[n]
        # Rebuilding the frontier from stored nodes gives the same tree head.
        rebuilt = Frontier(n, [emitted[node] for node in Frontier.nodes_for_size(n)])
        assert rebuilt.root() == ROOTS[n]
    assert emitted == NODES


def test_range_hash_of_every_prefix() -> None:
    for n in range(1, MAX_SIZE + 1):
        assert range_hash(0, n, lookup) == ROOTS[n]


def test_subtree_hash_of_every_perfect_subtree() -> None:
    for level in range(7):
        for start in range(0, MAX_SIZE - (1 << level) + 1, 1 << level):
            block = LEAVES[start : start + (1 << level)]
            assert subtree_hash([leaf_hash(d) for d in block]) == naive_mth(block), (level, start)
    for count in (0, 3, 6):
        with pytest.raises(ValueError):
            subtree_hash([leaf_hash(d) for d in LEAVES[:count]])


def test_the_small_subtrees_fold_from_their_leaves_and_the_rest_are_kept() -> None:
    leaves = {i: leaf_hash(d) for i, d in enumerate(LEAVES[:MAX_SIZE])}
    nodes = [(level, idx) for level in range(7) for idx in range(MAX_SIZE >> level)]
    kept, small = split_kept(nodes)
    assert {level for level, _ in kept} == set(range(NODE_MIN_LEVEL, 7))
    assert {level for level, _ in small} == set(range(NODE_MIN_LEVEL))
    folded = fold_small(small, leaves)
    for (level, idx), hash_ in folded.items():
        assert hash_ == naive_mth(LEAVES[idx << level : (idx + 1) << level]), (level, idx)
    assert set(folded) == set(small)
    # A subtree missing one leaf is left out, for the store to report as missing; its neighbours are not.
    del leaves[5]
    partial = fold_small(small, leaves)
    assert set(small) - set(partial) == {(level, 5 >> level) for level in range(NODE_MIN_LEVEL)}
    # What a store keeps of an append is exactly the subtrees it completes at the kept levels.
    frontier, shadow = Frontier(), Frontier()
    for i in range(MAX_SIZE):
        completed = shadow.append(leaf_hash(LEAVES[i]))
        assert kept_subtrees(frontier.append(leaf_hash(LEAVES[i]))) == [n for n in completed if n[0] >= NODE_MIN_LEVEL]


def test_unaligned_ranges_are_refused() -> None:
    with pytest.raises(ValueError):
        perfect_nodes(1, 3)
    with pytest.raises(ValueError):
        perfect_nodes(4, 4)


def test_inclusion_proofs_match_naive_for_all_sizes() -> None:
    for n in range(1, MAX_SIZE + 1):
        for m in range(n):
            proof = [range_hash(s, e, lookup) for s, e in inclusion_proof_ranges(m, n)]
            assert proof == naive_path(m, LEAVES[:n]), (m, n)
            assert verify_inclusion(leaf_hash(LEAVES[m]), m, n, proof, ROOTS[n]), (m, n)


def test_consistency_proofs_match_naive_for_all_sizes() -> None:
    for n in range(1, MAX_SIZE + 1):
        for m in range(1, n + 1):
            proof = [range_hash(s, e, lookup) for s, e in consistency_proof_ranges(m, n)]
            assert proof == naive_consistency(m, LEAVES[:n]), (m, n)
            assert verify_consistency(m, n, ROOTS[m], ROOTS[n], proof), (m, n)


def test_trivial_consistency() -> None:
    assert consistency_proof_ranges(0, 5) == [] and consistency_proof_ranges(5, 5) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    assert not verify_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert not verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])  # a real step needs a proof
    assert not verify_consistency(6, 5, ROOTS[6], ROOTS[5], [])


def test_out_of_range_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_proof_ranges(5, 5)
    with pytest.raises(ValueError):
        consistency_proof_ranges(6, 5)
    assert not verify_inclusion(leaf_hash(LEAVES[0]), 5, 5, [], ROOTS[5])


def _mutations(proof: list[bytes], data: st.DataObject) -> list[list[bytes]]:
    """Ways to spoil a proof: flip a bit, drop, add or swap an element."""
    spoiled = [proof + [bytes(32)], proof + [proof[-1]] if proof else [bytes(32)]]
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        flipped = bytearray(proof[i])
        flipped[bit // 8] ^= 1 << (bit % 8)
        spoiled += [proof[:i] + [bytes(flipped)] + proof[i + 1 :], proof[:-1], proof[1:]]
        if len(proof) > 1 and proof[0] != proof[1]:
            spoiled.append([proof[1], proof[0], *proof[2:]])
    return spoiled


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_spoiled_inclusion_proofs_fail(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, MAX_SIZE))
    m = data.draw(st.integers(0, n - 1))
    proof = naive_path(m, LEAVES[:n])
    leaf = leaf_hash(LEAVES[m])
    for spoiled in _mutations(proof, data):
        assert not verify_inclusion(leaf, m, n, spoiled, ROOTS[n])
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != m)) if n > 1 else None
    if other is not None:
        assert not verify_inclusion(leaf, other, n, proof, ROOTS[n])
        assert not verify_inclusion(leaf_hash(LEAVES[other]), m, n, proof, ROOTS[n])
    assert not verify_inclusion(leaf, m, n, proof, ROOTS[n - 1] if n > 1 else EMPTY_ROOT)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_spoiled_consistency_proofs_fail(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, MAX_SIZE))
    m = data.draw(st.integers(1, n - 1))
    proof = naive_consistency(m, LEAVES[:n])
    for spoiled in _mutations(proof, data):
        assert not verify_consistency(m, n, ROOTS[m], ROOTS[n], spoiled)
    # The right proof does not vouch for other roots or sizes.
    assert not verify_consistency(m, n, ROOTS[m - 1], ROOTS[n], proof)
    assert not verify_consistency(m, n, ROOTS[m], ROOTS[n - 1], proof)
    forked = LEAVES[: m - 1] + [b"rewritten"] + LEAVES[m:n]
    assert not verify_consistency(m, n, ROOTS[m], naive_mth(forked), proof)


async def test_store_proofs_match_naive(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path, checkpoint_every=1000)
    entries = await ledger.append_many([("seal.press", {"n": i}) for i in range(MAX_SIZE)])
    leaves = [e.canonical_bytes() for e in entries]
    for n in range(1, MAX_SIZE + 1):
        root = naive_mth(leaves[:n])
        assert await ledger.root_hash(n) == root
        for m in range(n):
            proof = await ledger.inclusion_proof(m, n)
            assert proof == naive_path(m, leaves[:n])
            assert verify_inclusion(leaf_hash(leaves[m]), m, n, proof, root)
        for m in range(1, n + 1):
            proof = await ledger.consistency_proof(m, n)
            assert proof == naive_consistency(m, leaves[:n])
    assert await ledger.root_hash() == naive_mth(leaves)
    assert await ledger.root_hash(0) == EMPTY_ROOT
    with pytest.raises(ValueError):
        await ledger.inclusion_proof(0, MAX_SIZE + 1)
    with pytest.raises(ValueError):
        await ledger.consistency_proof(3, MAX_SIZE + 1)
    await ledger.close()


async def test_store_proofs_after_reopen(tmp_path: Path) -> None:
    """The frontier is rebuilt from stored nodes, so later appends keep the proofs right."""
    ledger = await Ledger.open(tmp_path)
    first = await ledger.append_many([("k", {"n": i}) for i in range(37)])
    await ledger.close()
    ledger = await Ledger.open(tmp_path)
    second = await ledger.append_many([("k", {"n": i}) for i in range(37, 53)])
    leaves = [e.canonical_bytes() for e in first + second]
    assert await ledger.root_hash() == naive_mth(leaves)
    assert await ledger.consistency_proof(37, 53) == naive_consistency(37, leaves)
    await ledger.close()


def as_version_1(data_dir: Path) -> None:
    """Make a ledger what schema version 1 wrote: every perfect subtree in ``nodes``, no ``leaf_hash`` column."""
    with sqlite3.connect(data_dir / "ledger.sqlite3") as conn:
        rows = conn.execute("SELECT idx, ts, kind, body FROM entries ORDER BY idx").fetchall()
        frontier = Frontier()
        completed = [node for row in rows for node in frontier.append(leaf_hash(encode_entry(*row)))]
        low = [node for node in completed if node[0] < NODE_MIN_LEVEL]
        conn.executemany("INSERT INTO nodes (level, idx, hash) VALUES (?, ?, ?)", low)
        conn.execute("ALTER TABLE entries DROP COLUMN leaf_hash")
        conn.execute("PRAGMA user_version = 1")


async def test_a_version_1_ledger_keeps_its_proofs_and_is_upgraded_in_place(tmp_path: Path) -> None:
    ledger = await Ledger.open(tmp_path, checkpoint_every=16)
    first = await ledger.append_many([("k", {"n": i}) for i in range(37)])
    await ledger.close()
    as_version_1(tmp_path)
    leaves = [e.canonical_bytes() for e in first]
    reader = await Ledger.open_reader(tmp_path)  # a reader leaves it at version 1
    assert await reader.root_hash(37) == naive_mth(leaves)
    assert await reader.inclusion_proof(5, 37) == naive_path(5, leaves)
    await reader.close()

    ledger = await Ledger.open(tmp_path, checkpoint_every=16)
    second = await ledger.append_many([("k", {"n": i}) for i in range(37, MAX_SIZE)])
    leaves += [e.canonical_bytes() for e in second]
    assert await ledger.root_hash() == naive_mth(leaves)
    for m in (0, 5, 36, 37, 63, MAX_SIZE - 1):
        assert await ledger.inclusion_proof(m, MAX_SIZE) == naive_path(m, leaves), m
    assert await ledger.consistency_proof(37, MAX_SIZE) == naive_consistency(37, leaves)
    await ledger.close()
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (2,)
        leaf_rows = conn.execute("SELECT idx FROM entries WHERE leaf_hash IS NOT NULL ORDER BY idx").fetchall()
        assert [i for (i,) in leaf_rows] == list(range(37, MAX_SIZE))  # old rows are not rewritten
    assert verify_ledger(tmp_path).ok

    # The old part is still held to the leaf hashes version 1 recorded as nodes.
    with sqlite3.connect(tmp_path / "ledger.sqlite3") as conn:
        conn.execute("DROP TRIGGER nodes_no_update")
        conn.execute("UPDATE nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 5")
    report = verify_ledger(tmp_path)
    assert (report.ok, report.first_bad_index) == (False, 5) and "leaf" in report.reason, report
