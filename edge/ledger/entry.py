"""A ledger entry and its canonical bytes — the one encoding everything hashes and signs.

The canonical bytes of an entry are the canonical JSON (sorted keys, no
whitespace, UTF-8, no ASCII escaping) of ``{"body", "index", "kind", "ts"}``.
The store keeps the body as its canonical JSON text, so :func:`encode_entry`
can splice the parts together without re-encoding the body: appending,
offline verification and the central store all call this one function.

The standard library's encoder, configured as above, is the reference for
what canonical JSON is. orjson writes the very same text for every value the
check lets through, several times faster, so it does the work wherever it
can; ``tests/test_ledger_canonical.py`` holds the two to the same text.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

#: ``prev_hash`` of entry 0.
GENESIS_PREV_HASH = bytes(32)

# One reusable encoder: json.dumps() with non-default options builds a new
# encoder on every call, which dominates the cost of encoding short strings.
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_SORTED = orjson.OPT_SORT_KEYS


def utc_now() -> str:
    """The current time as stored in the ledger: UTC, ISO-8601, microseconds, ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Exact types that need no further look; the walk below recurses only for
# containers and anything unusual (subclasses, floats, foreign objects).
_PLAIN = frozenset({str, int, bool, type(None)})


def _check_json_value(value: object, path: str) -> None:
    """Accept only what canonical JSON round-trips exactly; name the offending place otherwise.

    Floats are refused outright: money is integer fen, and a float's decimal
    spelling is not something two implementations reliably agree on.
    """
    if type(value) is not dict:  # a body, the usual case, skips the isinstance() checks: they cost more than its walk
        if value is None or isinstance(value, (bool, int, str)):
            return
        if isinstance(value, float):
            raise ValueError(f"{path}: 不接受浮点数 floats are not allowed ({value!r}); store money as integer fen (分)")
        if isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if type(item) not in _PLAIN:
                    _check_json_value(item, f"{path}[{i}]")
            return
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: 无法编码为 JSON not JSON-serialisable: {type(value).__name__}")
    for key, item in value.items():
        if type(key) is not str:
            raise ValueError(f"{path}: 键必须是字符串 object keys must be strings, got {key!r}")
        if type(item) not in _PLAIN:
            _check_json_value(item, f"{path}.{key}")


def canonical_json(body: Mapping[str, Any]) -> str:
    """The canonical JSON text of an entry body; ``ValueError`` names anything unacceptable."""
    return canonical_text(body)[0]


def canonical_text(body: Mapping[str, Any]) -> tuple[str, bool]:
    """:func:`canonical_json`, and whether orjson wrote it: then orjson reads it back exactly (``decode_body``'s
    ``exact``), which saves an appended entry the round trip a stored text of unknown origin needs."""
    if type(body) is not dict and not isinstance(body, Mapping):
        raise ValueError(f"body: 必须是对象 must be a JSON object (dict), got {type(body).__name__}")
    _check_json_value(body, "body")
    try:
        return orjson.dumps(body, option=_SORTED).decode(), True
    except TypeError:  # orjson's refusal: an integer past 64 bits, nesting past 255 levels, a lone surrogate
        text = _ENCODER.encode(body)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be stored as UTF-8
        raise ValueError(f"body: 含无效字符 contains text that is not valid Unicode: {exc.reason}") from None
    return text, False


def decode_body(text: str, *, exact: bool = False) -> Any:
    """A body's stored JSON text read back into new objects, exactly as ``json.loads`` reads it.

    orjson's reading is taken only when it writes back to the very same text: it reads an integer past 64
    bits as a float, and refuses an escaped lone surrogate and deep nesting, where the reference decoder
    (used then) does not. ``exact``: the text is orjson's own writing (:func:`canonical_text`), which
    holds none of those, so the check is skipped.
    """
    try:
        body = orjson.loads(text)
        if exact or orjson.dumps(body, option=_SORTED) == text.encode():
            return body
    except (orjson.JSONDecodeError, TypeError):  # TypeError: orjson writes no more than 255 levels
        pass
    return json.loads(text)


def check_kind(kind: object) -> str:
    """An entry kind is a non-empty string of valid Unicode, e.g. ``seal.press``."""
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"kind: 必须是非空字符串 must be a non-empty string, got {kind!r}")
    try:
        kind.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"kind: 含无效字符 contains text that is not valid Unicode: {exc.reason}") from None
    return kind


@functools.lru_cache(maxsize=1024)
def _json_string(text: str) -> str:
    """A string as canonical JSON. Cached: a ledger holds few kinds, and a batch's entries share one ``ts``, so
    verifying or appending an entry mostly finds both here instead of running the encoder twice."""
    return _ENCODER.encode(text)


def encode_entry(index: int, ts: str, kind: str, body_json: str) -> bytes:
    """Canonical bytes of an entry whose body is already canonical JSON text.

    Equal to the canonical JSON of the whole entry because the keys are
    written in sorted order.
    """
    return f'{{"body":{body_json},"index":{index},"kind":{_json_string(kind)},"ts":{_json_string(ts)}}}'.encode()


def chain_hash(prev_hash: bytes, data: bytes) -> bytes:
    """Link of the hash chain: SHA-256(prev_hash || canonical bytes)."""
    return hashlib.sha256(prev_hash + data).digest()


@dataclass(frozen=True)
class Entry:
    """One ledger record as stored: never changed once written; a correction is a new entry."""

    index: int
    ts: str
    kind: str
    body: dict[str, Any]
    prev_hash: bytes
    hash: bytes

    @classmethod
    def from_row(cls, row: Iterable[Any]) -> Entry:
        """From ``SELECT idx, ts, kind, body, prev_hash, hash FROM entries``."""
        index, ts, kind, body_json, prev_hash, hash_ = row
        return cls.made(index, ts, kind, decode_body(body_json), prev_hash, hash_)

    @classmethod
    def made(cls, index: int, ts: str, kind: str, body: dict[str, Any], prev_hash: bytes, hash_: bytes) -> Entry:
        """The entry of these fields, as the constructor makes it but at half the cost: a frozen dataclass's
        ``__init__`` sets each field through ``object.__setattr__``, and every entry read or appended is made."""
        entry = object.__new__(cls)
        entry.__dict__.update(index=index, ts=ts, kind=kind, body=body, prev_hash=prev_hash, hash=hash_)
        return entry

    def canonical_bytes(self) -> bytes:
        """The bytes hashed into the chain and the Merkle tree."""
        return encode_entry(self.index, self.ts, self.kind, canonical_json(self.body))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, hashes in hex (for the CLI and the sync client)."""
        return {
            "index": self.index,
            "ts": self.ts,
            "kind": self.kind,
            "body": self.body,
            "prev_hash": self.prev_hash.hex(),
            "hash": self.hash.hex(),
        }
