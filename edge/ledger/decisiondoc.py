"""Signed documents from the central store: a decision that concerns a village, sent down to its edge.

Both ends read this one definition (the store signs, the edge verifies), as they share the rest of the wire
format. A document is a JSON object::

    {"id": "<32 hex>", "village": "<the edge id it is for>", "kind": "procurement.award",
     "body": {...}, "issued_at": "...Z", "decision_index": 17, "signature": "<128 hex>"}

``decision_index`` is the index of the decision in the central's own ledger (its decision log), so anyone can
ask for its inclusion proof there. The signature is Ed25519, by the key of that decision log, over the canonical
JSON of the other fields (the ledger's :func:`canonical_json`) under its own domain string, so a document's
signature can never pass for a checkpoint's or a request's, nor the other way round.

The edge records an accepted document as an entry of the document's kind whose body is the document's body
plus a ``document`` field (:func:`entry_body`); the document can be rebuilt from that entry alone
(:func:`document_of_entry`), so the edge's ledger is itself the proof of what it applied, and the store can
recognise its delivery among the verified entries the edge pushes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .entry import canonical_json, check_kind

DOCUMENT_DOMAIN = "qinglian-central-document/v1"
#: The field of an entry body that carries the document it applies (so a document body may not use it).
DOCUMENT_FIELD = "document"
#: The fields of a document besides its signature.
FIELDS = ("id", "village", "kind", "body", "issued_at", "decision_index")
#: The kernel's entry kind on the edge for a document it refused (forged, another village's, replayed, a kind
#: no part of the edge declares); the body's ``anomaly`` is one of :data:`REFUSALS`.
DOCUMENT_REFUSED = "document_refused"
#: Why an edge refuses a document -> its Chinese name (the edge's and the store's pages name them alike).
REFUSALS = {
    "document_malformed": "中心文书格式错误",
    "document_forged": "中心文书签名无效(伪造)",
    "document_foreign": "他村的中心文书",
    "document_replayed": "重放的中心文书",
    "document_unknown_kind": "本村未启用该类中心文书",
}
#: The refusals of a document whose signature the edge checked first, so whose id is the central's: the store
#: settles that document as refused. Any other refusal names an id nobody vouched for (a forger may copy a real
#: one), and settles nothing.
SETTLING_REFUSALS = frozenset({"document_unknown_kind"})
#: The most documents one sync round carries (the store sends no more, the edge takes no more: a flood stops here).
DOCUMENTS_PER_ROUND = 20
_ID = re.compile("[0-9a-f]{32}")
_SIGNATURE = re.compile("[0-9a-f]{128}")


class DocumentError(ValueError):
    """A document that is not well formed; ``code`` is ``document_malformed``."""

    code = "document_malformed"


def claimed_id(raw: Any) -> str:
    """The id a received document claims, if it has the shape of one, else ``""`` (to name it in a refusal:
    nothing else of an unchecked document goes into the ledger)."""
    value = raw.get("id") if isinstance(raw, Mapping) else None
    return value if isinstance(value, str) and _ID.fullmatch(value) else ""


def signed_message(fields: Mapping[str, Any]) -> bytes:
    """The exact bytes a document's signature covers."""
    return f"{DOCUMENT_DOMAIN}\n{canonical_json({k: fields[k] for k in FIELDS})}".encode()


def sign_document(key: Ed25519PrivateKey, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The document of ``fields`` (:data:`FIELDS`), checked and signed."""
    document = {k: fields[k] for k in FIELDS}
    check_fields(document)
    return {**document, "signature": key.sign(signed_message(document)).hex()}


def check_fields(document: Mapping[str, Any]) -> None:
    """:class:`DocumentError` naming the first field that is missing or of the wrong shape."""
    if not isinstance(document, Mapping):
        raise DocumentError("文书应为 JSON 对象 a document is a JSON object")
    missing = [k for k in FIELDS if k not in document]
    if missing:
        raise DocumentError(f"文书缺少字段 document lacks {', '.join(missing)}")
    if not isinstance(document["id"], str) or not _ID.fullmatch(document["id"]):
        raise DocumentError("文书编号应为32位十六进制 id must be 32 hex digits")
    for name in ("village", "issued_at"):
        if not isinstance(document[name], str) or not document[name]:
            raise DocumentError(f"{name} 应为非空字符串 must be a non-empty string")
    if type(document["decision_index"]) is not int or document["decision_index"] < 0:
        raise DocumentError("decision_index 应为非负整数 must be a non-negative integer")
    try:
        kind = check_kind(document["kind"])
        canonical_json(document["body"])
    except ValueError as exc:
        raise DocumentError(str(exc)) from None
    if "." not in kind:
        raise DocumentError(f"文书种类应属某一部分 kind {kind!r} must be a part's (prefix.name)")
    if DOCUMENT_FIELD in document["body"]:
        raise DocumentError(f"文书正文不得含 {DOCUMENT_FIELD!r} 字段 the body may not use the field {DOCUMENT_FIELD!r}")


def verify_document(key: Ed25519PublicKey, document: Any) -> dict[str, Any]:
    """The document, if well formed and signed by ``key``; :class:`DocumentError` (``code`` says which) otherwise."""
    check_fields(document)
    signature = document.get("signature")
    if not isinstance(signature, str) or not _SIGNATURE.fullmatch(signature):
        raise DocumentError("签名应为128位十六进制 the signature must be 128 hex digits")
    try:
        key.verify(bytes.fromhex(signature), signed_message(document))
    except InvalidSignature:
        forged = DocumentError("文书签名与中心公钥不符 the signature does not verify with the central store's key")
        forged.code = "document_forged"
        raise forged from None
    return {**{k: document[k] for k in FIELDS}, "signature": signature}


def entry_body(document: Mapping[str, Any]) -> dict[str, Any]:
    """The body of the edge's ledger entry that applies ``document`` (whose kind is the entry's kind)."""
    carried = {k: document[k] for k in ("id", "village", "issued_at", "decision_index", "signature")}
    return {**document["body"], DOCUMENT_FIELD: carried}


def document_of_entry(kind: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The document an entry applies, rebuilt from the entry alone; ``None`` when it carries none."""
    carried = body.get(DOCUMENT_FIELD)
    if not isinstance(carried, Mapping) or not isinstance(carried.get("id"), str):
        return None
    rest = {k: v for k, v in body.items() if k != DOCUMENT_FIELD}
    fields = ("id", "village", "issued_at", "decision_index", "signature")
    if any(k not in carried for k in fields):
        return None
    return {**{k: carried[k] for k in fields}, "kind": kind, "body": rest}
