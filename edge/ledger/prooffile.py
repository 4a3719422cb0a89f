"""Proof files: a Merkle proof as one JSON document that anyone can check offline.

The layout is the one of the transparency-dev/merkle test data, hashes in
standard base64 (``null`` reads as no bytes, as Go's ``encoding/json`` does)::

    inclusion    {"leafIdx", "treeSize", "root", "leafHash", "proof": [...]}   ("leafIndex" too)
    consistency  {"size1", "size2", "root1", "root2", "proof": [...]}

``leafIdx`` counts from 0. ``qinglian ledger proof`` adds what makes an
inclusion proof self-contained, and :func:`check` verifies it when present:

    "entry"       the entry itself: index, ts, kind, body (and its chain hashes, in hex)
    "canonical"   its canonical bytes as text; SHA-256(0x00 || UTF-8 bytes) is leafHash
    "checkpoint"  the edge's signed tree head (tree_size, root_hash, timestamp, signature, hex)
                  that treeSize and root come from
    "public_key"  the edge's Ed25519 key, base64 of the raw 32 bytes
    "edge"        the edge's id, as it syncs with the central store

The rules are transparency-dev's, so their published vectors pass and fail as
published: a leaf hash must have 32 bytes, a proof exactly the hashes its
sizes call for, and a consistency proof from the empty tree proves nothing
(RFC 9162 defines them for ``0 < size1``). The hashing is :mod:`.merkle`'s.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from .checkpoint import Checkpoint
from .entry import Entry, canonical_json, encode_entry
from .keys import public_key_b64, public_key_from_b64
from .merkle import (
    HASH_SIZE,
    consistency_proof_ranges,
    inclusion_proof_ranges,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)


class ProofFileError(ValueError):
    """The document is not a proof file: a field is missing, of the wrong type, or not base64."""


@dataclass(frozen=True)
class Verdict:
    """What :func:`check` found: ``ok`` and, if not, why; ``checked`` lists what held."""

    kind: str  # "inclusion" | "consistency"
    ok: bool
    reason: str = ""
    checked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "valid": self.ok, "reason": self.reason, "checked": self.checked}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def inclusion_document(
    entry: Entry, proof: Sequence[bytes], checkpoint: Checkpoint, public_key: Ed25519PublicKey, edge_id: str
) -> dict[str, Any]:
    """The self-contained proof that ``entry`` is in the tree ``checkpoint`` signed."""
    data = entry.canonical_bytes()
    return {
        "leafIdx": entry.index,
        "treeSize": checkpoint.tree_size,
        "root": _b64(checkpoint.root_hash),
        "leafHash": _b64(leaf_hash(data)),
        "proof": [_b64(p) for p in proof],
        "entry": entry.to_dict(),
        "canonical": data.decode(),
        "checkpoint": checkpoint.to_dict(),
        "public_key": public_key_b64(public_key),
        "edge": edge_id,
    }


# -- reading -------------------------------------------------------------------------------------


def _size(doc: Mapping[str, Any], name: str) -> int:
    value = doc.get(name)
    if type(value) is not int or value < 0:
        raise ProofFileError(f"{name}: 应为非负整数 must be a non-negative integer, got {value!r}")
    return value


def _leaf_index(doc: Mapping[str, Any]) -> int:
    names = [n for n in ("leafIdx", "leafIndex") if n in doc]
    if not names:
        raise ProofFileError("缺少 leafIdx missing leafIdx (or leafIndex)")
    values = {_size(doc, n) for n in names}
    if len(values) > 1:
        raise ProofFileError("leafIdx 与 leafIndex 不一致 leafIdx and leafIndex disagree")
    return values.pop()


def _bytes(value: Any, name: str) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise ProofFileError(f"{name}: 应为 base64 字符串 must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ProofFileError(f"{name}: 不是 base64 not valid base64") from None


def _hash(doc: Mapping[str, Any], name: str) -> bytes:
    if name not in doc:
        raise ProofFileError(f"缺少 {name} missing {name}")
    return _bytes(doc[name], name)


def _proof(doc: Mapping[str, Any]) -> list[bytes]:
    if "proof" not in doc:
        raise ProofFileError("缺少 proof missing proof")
    raw = doc["proof"] or []
    if not isinstance(raw, list):
        raise ProofFileError("proof: 应为哈希列表 must be a list of base64 hashes")
    return [_bytes(p, f"proof[{i}]") for i, p in enumerate(raw)]


def _bad_hash(proof: Sequence[bytes]) -> str:
    for i, p in enumerate(proof):
        if len(p) != HASH_SIZE:
            return f"proof[{i}] 有 {len(p)} 字节, 哈希应为 {HASH_SIZE} proof[{i}] has {len(p)} bytes, not {HASH_SIZE}"
    return ""


# -- checking ------------------------------------------------------------------------------------


def check(doc: Any, trusted_key: Ed25519PublicKey | None = None) -> Verdict:
    """Verify a proof document; :class:`ProofFileError` if it is not one.

    With ``trusted_key``, the document must carry a checkpoint signed by exactly that key.
    """
    if not isinstance(doc, Mapping):
        raise ProofFileError("应为 JSON 对象 the file must hold a JSON object")
    inclusion = "treeSize" in doc
    if inclusion == ("size1" in doc or "size2" in doc):
        raise ProofFileError(
            "既非包含证明也非一致性证明 neither an inclusion proof (treeSize) nor a consistency proof (size1, size2)"
        )
    if inclusion:
        return _check_inclusion(doc, trusted_key)
    if trusted_key is not None:
        raise ProofFileError("一致性证明不带检查点 --key applies to a proof that carries a signed checkpoint")
    return _check_consistency(doc)


def _check_inclusion(doc: Mapping[str, Any], trusted_key: Ed25519PublicKey | None) -> Verdict:
    # Everything is read first, so a malformed part is reported as such whatever else is wrong.
    index, size = _leaf_index(doc), _size(doc, "treeSize")
    root, leaf, proof = _hash(doc, "root"), _hash(doc, "leafHash"), _proof(doc)
    contents = _leaf_contents(doc)
    signed = _signed_head(doc)
    if trusted_key is not None and signed is None:
        raise ProofFileError("文件不带签名检查点 --key given but the file carries no signed checkpoint")

    def fail(reason: str) -> Verdict:
        return Verdict("inclusion", False, reason)

    if index >= size:
        return fail(f"叶序号 {index} 不小于树大小 {size} leaf index {index} is not below the tree size {size}")
    if len(leaf) != HASH_SIZE:
        return fail(f"leafHash 有 {len(leaf)} 字节 leafHash has {len(leaf)} bytes, not {HASH_SIZE}")
    wanted = len(inclusion_proof_ranges(index, size))
    if len(proof) != wanted:
        return fail(
            f"证明有 {len(proof)} 个哈希, 应为 {wanted} the proof has {len(proof)} hashes; leaf {index} of a tree of "
            f"{size} needs {wanted}"
        )
    if bad := _bad_hash(proof):
        return fail(bad)
    if not verify_inclusion(leaf, index, size, proof, root):
        return fail("证明不能由 leafHash 得到 root the proof does not lead from leafHash to root")
    checked = [f"叶 {index} 在大小为 {size} 的树中 leaf {index} is in the tree of size {size}, root {root.hex()}"]

    for claimed_index, data in contents:
        if claimed_index is not None and claimed_index != index:
            return fail(f"条目序号 {claimed_index} 与 leafIdx {index} 不符 the entry's index is not leafIdx")
        if leaf_hash(data) != leaf:
            return fail("条目内容与 leafHash 不符 the entry's canonical bytes do not hash to leafHash")
    if contents:
        checked.append("条目内容与 leafHash 相符 the entry hashes to leafHash")
    if signed is not None:
        checkpoint, key = signed
        if trusted_key is not None and public_key_b64(trusted_key) != public_key_b64(key):
            return fail("文件中的公钥不是所给的公钥 the file's public_key is not the key given with --key")
        if not checkpoint.verify(key):
            return fail("检查点签名无效 the checkpoint's signature does not verify with public_key")
        if checkpoint.tree_size != size or checkpoint.root_hash != root:
            return fail(
                f"签名检查点(大小 {checkpoint.tree_size})与 treeSize/root 不符 the signed checkpoint (size "
                f"{checkpoint.tree_size}, root {checkpoint.root_hash.hex()[:16]}…) is not the tree the proof is for"
            )
        edge = f" (edge {doc['edge']})" if "edge" in doc else ""
        checked.append(f"检查点签名有效 checkpoint signed by key {public_key_b64(key)}{edge}")
    return Verdict("inclusion", True, checked=checked)


def _leaf_contents(doc: Mapping[str, Any]) -> list[tuple[int | None, bytes]]:
    """What the file says the leaf is: ``(entry index or None, canonical bytes)`` for "canonical" and "entry"."""
    contents: list[tuple[int | None, bytes]] = []
    if "canonical" in doc:
        if not isinstance(doc["canonical"], str):
            raise ProofFileError("canonical: 应为字符串 must be a string")
        contents.append((None, doc["canonical"].encode()))
    if "entry" in doc:
        entry = doc["entry"]
        try:
            index = entry["index"]
            if type(index) is not int:
                raise TypeError(f"index {index!r}")
            contents.append((index, encode_entry(index, entry["ts"], entry["kind"], canonical_json(entry["body"]))))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProofFileError(f"entry: 格式错误 malformed entry: {exc!r}") from None
    return contents


def _signed_head(doc: Mapping[str, Any]) -> tuple[Checkpoint, Ed25519PublicKey] | None:
    """The file's signed checkpoint and the key to check it with, if it carries one."""
    if "checkpoint" not in doc:
        return None
    try:
        checkpoint = Checkpoint.from_dict(doc["checkpoint"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise ProofFileError(f"checkpoint: {exc}") from None
    if not isinstance(doc.get("public_key"), str):
        raise ProofFileError("带检查点但缺少 public_key a checkpoint needs the public_key (base64) to check it")
    try:
        return checkpoint, public_key_from_b64(doc["public_key"])
    except ValueError as exc:
        raise ProofFileError(f"public_key: {exc}") from None


def _check_consistency(doc: Mapping[str, Any]) -> Verdict:
    size1, size2 = _size(doc, "size1"), _size(doc, "size2")
    root1, root2, proof = _hash(doc, "root1"), _hash(doc, "root2"), _proof(doc)

    def fail(reason: str) -> Verdict:
        return Verdict("consistency", False, reason)

    if size1 > size2:
        return fail(f"size1 {size1} 大于 size2 {size2}: 日志不会缩短 size1 is above size2: a log never shrinks")
    if size1 == size2:
        if proof:
            return fail("大小相同时证明应为空 equal sizes take an empty proof")
        if root1 != root2:
            return fail("大小相同而根不同 equal sizes but different roots")
        return Verdict("consistency", True, checked=[f"同一棵树 the same tree of size {size1}"])
    if size1 == 0:
        return fail("自空树的一致性证明无意义 a consistency proof from the empty tree proves nothing")
    wanted = len(consistency_proof_ranges(size1, size2))
    if len(proof) != wanted:
        return fail(
            f"证明有 {len(proof)} 个哈希, 应为 {wanted} the proof has {len(proof)} hashes; sizes {size1} → {size2} "
            f"need {wanted}"
        )
    if bad := _bad_hash(proof):
        return fail(bad)
    if not verify_consistency(size1, size2, root1, root2, proof):
        return fail(f"证明不能连接 root1 与 root2 the proof does not show root2 ({size2}) extends root1 ({size1})")
    return Verdict(
        "consistency", True, checked=[f"大小 {size2} 的树延续大小 {size1} 的树 tree {size2} extends tree {size1}"]
    )
