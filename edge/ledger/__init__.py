"""The tamper-evident ledger (台账) of the edge agent.

Every seal event, approval, module decision and photo hash is appended as an
entry: hash-chained to the one before, a leaf of an RFC 6962 Merkle tree, and
covered by Ed25519-signed checkpoints, so anyone with the public key can check
that an entry is included and that a later tree extends an earlier one.

    ledger = await Ledger.open(data_dir)
    entry = await ledger.append("seal.press", {"seal": "official", "presses": 1})
    checkpoint = await ledger.checkpoint()
    proof = await ledger.inclusion_proof(entry.index, checkpoint.tree_size)
    assert verify_inclusion(leaf_hash(entry.canonical_bytes()), entry.index,
                            checkpoint.tree_size, proof, checkpoint.root_hash)

``qinglian ledger verify --data DIR`` runs :func:`verify_ledger` offline.
"""

from __future__ import annotations

from .checkpoint import Checkpoint
from .entry import Entry, canonical_json, chain_hash, encode_entry, utc_now
from .keys import load_public_key
from .merkle import EMPTY_ROOT, Frontier, leaf_hash, node_hash, verify_consistency, verify_inclusion
from .store import DEFAULT_CHECKPOINT_EVERY, Ledger, LedgerError
from .verify import VerifyReport, verify_ledger

__all__ = [
    "utc_now",
    "DEFAULT_CHECKPOINT_EVERY",
    "EMPTY_ROOT",
    "Checkpoint",
    "Entry",
    "Frontier",
    "Ledger",
    "LedgerError",
    "VerifyReport",
    "canonical_json",
    "chain_hash",
    "encode_entry",
    "leaf_hash",
    "load_public_key",
    "node_hash",
    "verify_consistency",
    "verify_inclusion",
    "verify_ledger",
]
