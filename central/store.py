"""The central store: enrolment, verified ingest of ledger batches, configuration, and the data behind the views.

Ingest is all-or-nothing. A batch is checked completely inside one
transaction that holds the edge's row lock, and only then written; any
refusal rolls the transaction back, so nothing of a refused batch is stored.
The refusal itself, and the flag when the evidence is signed with the edge's
own key, are written afterwards in a transaction of their own.

What the store holds per edge is always a prefix ``[0, size)`` of the edge's
log that ends on a checkpoint the edge signed and the store accepted: batches
end on checkpoints, so ``size`` is the tree size of the last accepted one and
the next expected index at the same time.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any, Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Table, and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from central import configdocs
from central.configdocs import ConfigDocError, Doc, Scope
from central.decisions.delivery import pending_documents, settle
from central.db import (
    Database,
    checkpoints,
    config_docs,
    create_schema,
    edges,
    entries,
    nodes,
    open_database,
    reaction_failures,
    refusal_counts,
    refusals,
    supervisor_tokens,
    upsert,
)
from edge.ledger import Checkpoint, canonical_json, chain_hash, encode_entry, leaf_hash
from edge.ledger.entry import GENESIS_PREV_HASH, check_kind, utc_now
from edge.ledger.localtime import local_day, local_today
from edge.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    Frontier,
    NodeId,
    fold,
    fold_small,
    inclusion_proof_ranges,
    kept_subtrees,
    perfect_nodes,
    split_kept,
    verify_consistency,
    verify_inclusion,
)
from edge.ledger.wire import (
    ANOMALY_KINDS,
    MAX_CLOCK_SKEW_S,
    PHOTO_CHECK,
    PHOTO_OCR,
    canonical_hash,
    key_id,
    verify_request_signature,
)

#: The most entries one batch may carry (the edge client sends 1,000 by default).
MAX_BATCH_ENTRIES = 10_000


SEAL_USE_KIND = "seal.press"

#: Kind prefixes (before the first ".") of the seal loop and of the edge's own housekeeping. Any other
#: ``module.*`` kind is a record of one of the supervision modules (户主大会, 一网采购, ...): the views
#: list it under its prefix as it arrives, so a new module needs no change here.
EDGE_KIND_PREFIXES = frozenset(
    {"agent", "device", "document", "firmware", "grant", "maintenance", "photo", "seal", "seal_request"}
)
SUMMARY_CHARS = 120

#: Counter rows kept for unauthenticated refusals before new sources are folded into one.
MAX_REFUSAL_SOURCES = 1000
#: The source a refusal is counted under once :data:`MAX_REFUSAL_SOURCES` rows exist.
OVERFLOW_SOURCE = "*"
_SIGNATURE_HEX = re.compile("[0-9a-fA-F]{128}")  # an Ed25519 signature

_EDGE_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")

#: The village, township or county of an edge enrolled without it, until an administrator sets it.
#: Scopes are by township and county, so an unplaced edge is seen only with an ``all`` token.
UNPLACED = "未定"


class Refusal(Exception):
    """A request or batch the store refuses; ``flag`` when it is signed evidence of a rewritten history."""

    def __init__(
        self,
        status: int,
        code: str,
        reason: str,
        *,
        flag: bool = False,
        next_index: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.flag = flag
        self.next_index = next_index
        self.extra = dict(extra or {})

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accepted": False, "code": self.code, "reason": self.reason, "flagged": self.flag}
        if self.next_index is not None:
            out["next_index"] = self.next_index
        out.update(self.extra)
        return out


def _bad_signature(edge_id: str) -> Refusal:
    return Refusal(
        401, "bad_signature", f"请求签名无效 the request signature does not verify with {edge_id}'s enrolled key"
    )


@dataclass(frozen=True)
class RequestClaim:
    """What a sync request's headers say, checked against enrolment before any of its body is read."""

    edge_id: str
    source: str  # the client's address, for counting refusals
    timestamp: int
    signature: str
    signer: str  # the enrolled edge whose key the key id header names: the edge itself, or another edge
    public_key: str  # that key, PEM


def refusal_source(host: str | None) -> str:
    """Where an unauthenticated request came from, for counting: the client's address, an IPv6 client by its
    /64 (one subscriber is given a whole /64, so single addresses would be free to vary)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return (host or "unknown")[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class AdminError(ValueError):
    """Bad input to an administrator's command (enrolment, publishing, tokens): nothing changed."""


# -- parsing what an edge sends ------------------------------------------------------------


@dataclass(slots=True)
class WireEntry:
    """One pushed entry, its body as canonical JSON text. Not frozen: a batch makes up to 10,000 of them, and a
    frozen dataclass calls ``object.__setattr__`` for each field, five times the cost of making one."""

    index: int
    ts: str
    kind: str
    body_json: str
    hash: bytes | None

    def data(self) -> bytes:
        return encode_entry(self.index, self.ts, self.kind, self.body_json)


@dataclass(frozen=True)
class Batch:
    from_index: int
    entries: list[WireEntry]
    checkpoint: Checkpoint
    proof_from: int | None
    proof: list[bytes]
    config_hash: str | None


def _malformed(what: str) -> Refusal:
    return Refusal(400, "malformed", f"批次格式错误 malformed batch: {what}")


def _hex(value: Any, what: str, size: int | None = HASH_SIZE) -> bytes:
    if not isinstance(value, str):
        raise _malformed(f"{what} 应为十六进制字符串 must be a hex string")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise _malformed(f"{what} 不是十六进制 is not hex") from None
    if size is not None and len(raw) != size:
        raise _malformed(f"{what} 应为 {size} 字节 must be {size} bytes")
    return raw


def _nonneg_int(value: Any, what: str) -> int:
    if type(value) is not int or value < 0:
        raise _malformed(f"{what} 应为非负整数 must be a non-negative integer, got {value!r}")
    return value


def parse_batch(payload: Any) -> Batch:
    """Check the shape of a pushed batch; :class:`Refusal` (400) names the first problem."""
    if not isinstance(payload, Mapping):
        raise _malformed("应为 JSON 对象 expected a JSON object")
    from_index = _nonneg_int(payload.get("from_index"), "from_index")
    raw_entries = payload.get("entries")
    if not isinstance(raw_entries, list):
        raise _malformed("entries 应为列表 must be a list")
    if len(raw_entries) > MAX_BATCH_ENTRIES:
        raise _malformed(f"一批最多 {MAX_BATCH_ENTRIES} 条 at most {MAX_BATCH_ENTRIES} entries per batch")
    parsed: list[WireEntry] = []
    kinds: set[str] = set()  # the kinds checked so far: a batch holds a handful, each many times
    # Each check is the cheap test of the common case first; the refusals, and their order, are those of
    # checking every field in full, entry by entry.
    for position, raw in enumerate(raw_entries):
        if type(raw) is not dict and not isinstance(raw, Mapping):
            raise _malformed(f"entries[{position}] 应为对象 must be an object")
        index = raw.get("index")
        if type(index) is not int or index != from_index + position:
            _nonneg_int(index, f"entries[{position}].index")
            raise _malformed(
                f"entries[{position}].index 应为 {from_index + position} 条目须连续 entries must be contiguous"
            )
        ts = raw.get("ts")
        if not isinstance(ts, str) or not ts or "\n" in ts:
            raise _malformed(f"entries[{position}].ts 无效 invalid timestamp")
        kind = raw.get("kind")
        try:
            if type(kind) is not str or kind not in kinds:
                kind = check_kind(kind)
                kinds.add(kind)
            body_json = canonical_json(raw.get("body"))  # type: ignore[arg-type]
        except ValueError as exc:
            raise _malformed(f"entries[{position}]: {exc}") from None
        entry_hash = raw.get("hash")
        if entry_hash is not None:
            entry_hash = _hex(entry_hash, f"entries[{position}].hash")
        parsed.append(WireEntry(index, ts, kind, body_json, entry_hash))
    raw_cp = payload.get("checkpoint")
    if not isinstance(raw_cp, Mapping):
        raise _malformed("缺少检查点 checkpoint missing")
    try:
        checkpoint = Checkpoint.from_dict(dict(raw_cp))
    except ValueError as exc:
        raise _malformed(f"checkpoint: {exc}") from None
    if checkpoint.tree_size != from_index + len(parsed):
        raise _malformed(
            f"条目须止于检查点 entries must run from from_index {from_index} up to the checkpoint's "
            f"tree size {checkpoint.tree_size}, got {len(parsed)} entries"
        )
    consistency = payload.get("consistency") or {}
    if not isinstance(consistency, Mapping):
        raise _malformed("consistency 应为对象 must be an object")
    proof_from = consistency.get("from_size")
    if proof_from is not None:
        proof_from = _nonneg_int(proof_from, "consistency.from_size")
    raw_proof = consistency.get("proof", [])
    if not isinstance(raw_proof, list) or len(raw_proof) > 128:
        raise _malformed("consistency.proof 应为哈希列表 must be a list of hashes")
    proof = [_hex(p, f"consistency.proof[{i}]") for i, p in enumerate(raw_proof)]
    config_hash = payload.get("config_hash")
    if config_hash is not None and (not isinstance(config_hash, str) or len(config_hash) != 64):
        raise _malformed("config_hash 应为64位十六进制 must be 64 hex digits")
    return Batch(from_index, parsed, checkpoint, proof_from, proof, config_hash)


def entry_flag(kind: str, body_json: str) -> str | None:
    """The anomaly an entry reports, if any: its body's ``anomaly`` (or ``flag``) or an anomalous kind."""
    if '"anomaly"' in body_json or '"flag"' in body_json:
        body = json.loads(body_json)
        for key in ("anomaly", "flag"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:64]
    return ANOMALY_KINDS.get(kind)


def body_summary(body_json: str) -> str:
    """One line for a table: the body's plain fields as ``key: value`` (keys in canonical order), cut short."""
    body = json.loads(body_json)
    text = ", ".join(f"{k}: {v}" for k, v in body.items() if isinstance(v, (str, int)) and not isinstance(v, bool))
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def load_pem_key(pem: str) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise AdminError(f"无法读取公钥 cannot read the public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AdminError("不是 Ed25519 公钥 not an Ed25519 public key")
    return key


def check_edge_id(edge_id: str) -> str:
    if not isinstance(edge_id, str) or not 1 <= len(edge_id) <= 64 or not set(edge_id) <= _EDGE_ID_CHARS:
        raise AdminError(f"无效的边缘编号 invalid edge id {edge_id!r}: letters, digits, - _ . only, up to 64")
    return edge_id


#: A timestamp as the ledger writes it (``utc_now``), digits in ASCII: minutes and seconds in range.
_LEDGER_TS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-5][0-9]:[0-5][0-9]\.[0-9]{6}Z")


def _days_by_hour() -> Callable[[str], str]:
    """:func:`local_day`, worked out once per hour for the ledger's own timestamps: Asia/Shanghai is a whole
    number of hours from UTC, so every such timestamp of one UTC hour has the day of the first one met (valid
    or not: that is local_day's to say, from its date and hour). Any other text is worked out in full."""
    days: dict[str, str] = {}

    def day(ts: str) -> str:
        if _LEDGER_TS.fullmatch(ts) is None:
            return local_day(ts)
        hour = ts[:13]
        found = days.get(hour)
        if found is None:
            found = days[hour] = local_day(ts)
        return found

    return day


def _frontier_of(row: Any) -> Frontier:
    blob: bytes = row.frontier
    return Frontier(row.size, [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)])


def _frontier_blob(frontier: Frontier) -> bytes:
    return b"".join(frontier._hashes)


@dataclass
class Extension:
    """New entries that passed every check, ready to write."""

    entry_rows: list[dict[str, Any]]
    node_rows: list[dict[str, Any]]
    last_hash: bytes
    frontier: Frontier


def check_extension(edge_id: str, batch: Batch, held: int, last_hash: bytes, frontier: Frontier) -> Extension:
    """Check the entries of ``batch`` beyond ``held`` against the chain head and Merkle frontier held.

    Pure (no I/O), and ``frontier`` is extended in place. The checkpoint's
    signature has been checked by the caller. :class:`Refusal` names the
    first failure: an entry whose hash does not continue the chain, a signed
    checkpoint that does not cover the entries, a history that does not extend
    the accepted one, or a consistency proof that does not verify.
    """
    cp = batch.checkpoint
    end = cp.tree_size
    held_root = frontier.root()
    prev = last_hash
    entry_rows: list[dict[str, Any]] = []
    node_rows: list[dict[str, Any]] = []
    append = frontier.append
    day_of = _days_by_hour()
    # ... the hash chain continues from the last entry held ...
    for e in batch.entries[held - batch.from_index :]:
        data = e.data()
        chained = chain_hash(prev, data)
        if e.hash is not None and e.hash != chained:
            raise Refusal(
                409, "chain_broken",
                f"第 {e.index} 条的哈希与其内容及前一条不符: 条目被改动 entry {e.index}'s hash does not match its "
                "content and the entry before it: the entry was altered",
                flag=True, next_index=held,
            )  # fmt: skip
        leaf = leaf_hash(data)
        completed = append(leaf)  # the subtrees of level 0, 1, ... this leaf completes, in that order
        if kept := kept_subtrees(completed):
            node_rows.extend({"edge_id": edge_id, "level": level, "idx": idx, "hash": h} for level, idx, h in kept)
        entry_rows.append({
            "edge_id": edge_id, "idx": e.index, "ts": e.ts, "kind": e.kind, "body": e.body_json,
            "hash": chained, "leaf_hash": leaf, "day": day_of(e.ts), "flag": entry_flag(e.kind, e.body_json),
        })  # fmt: skip
        prev = chained
    # ... the signed checkpoint covers exactly these entries ...
    if frontier.root() != cp.root_hash:
        extends = batch.proof_from == held and verify_consistency(held, end, held_root, cp.root_hash, batch.proof)
        raise Refusal(
            409, "root_mismatch" if extends else "history_rewritten",
            (f"签名检查点(大小 {end})的根与所推送条目不符 the signed checkpoint of size {end} does not cover the "
             "entries pushed with it") if extends else
            (f"新检查点(大小 {end})不延续中心已接受的检查点(大小 {held}): 历史被改写 the new checkpoint of size {end} "
             f"does not extend the last accepted checkpoint of size {held}: history rewritten"),
            flag=True, next_index=held,
        )  # fmt: skip
    # ... and its consistency proof from the last accepted checkpoint holds (it must, by now: a
    # failure here is a faulty client, not evidence, so it refuses without flagging).
    if batch.proof_from != held or not verify_consistency(held, end, held_root, cp.root_hash, batch.proof):
        raise Refusal(
            400, "bad_consistency_proof",
            f"一致性证明无效 the consistency proof from size {held} to {end} does not verify",
            next_index=held,
        )  # fmt: skip
    return Extension(entry_rows, node_rows, prev, frontier)


async def _copy_rows(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert verified rows in the transaction of ``conn``: one COPY on PostgreSQL, executemany elsewhere.

    A batch of 1,000 entries as one COPY is two round trips and PostgreSQL reads the rows as data, where
    executemany binds and runs 1,000 statements (and SQLAlchemy builds 1,000 parameter sets).
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await conn.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    record = itemgetter(*columns)  # a row's values in column order, as a tuple (every table has several)
    raw = await conn.get_raw_connection()  # the connection of this transaction
    driver = raw.driver_connection  # asyncpg's; None only once the connection is closed
    assert driver is not None
    await driver.copy_records_to_table(
        table.name, records=[record(row) for row in rows], columns=columns
    )


# -- views' inputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is reading: a supervisor token's scope (``all`` for the administrator's token), or a logged-in
    account's (central/accounts): an officer's county or township, ``self`` for a supplier or bank, who see
    no village's records."""

    level: str  # "all" | "county" | "township" | "self"
    name: str
    label: str = ""
    role: str = "supervisor"  # a read-only supervisor token; an account's role otherwise (central.accounts.roles)
    account: str | None = None  # the username of a logged-in account

    def covers(self, county: str, township: str) -> bool:
        if self.level == "all":
            return True
        if self.level == "county":
            return self.name == county
        if self.level == "township":
            return self.name in (township, f"{county}/{township}")
        return False

    def describe(self) -> str:
        """The scope as the API names it (``全部 all`` for everything: a field of its answers, kept as it was)."""
        return "全部 all" if self.level == "all" else self.place()

    def place(self) -> str:
        """The scope as a page names it, in Chinese only."""
        if self.level == "all":
            return "全部"
        if self.level == "self":
            return self.label
        return f"{configdocs.LEVEL_NAMES[self.level]} {self.name}"


@dataclass
class Period:
    start: date
    end: date  # exclusive

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        today = local_today()
        try:
            end_d = date.fromisoformat(end) if end else today + timedelta(days=1)
            start_d = date.fromisoformat(start) if start else (end_d - timedelta(days=365)).replace(day=1)
        except ValueError:
            raise AdminError("日期格式应为 年-月-日，如 2026-01-31 dates must be YYYY-MM-DD") from None
        except OverflowError:  # the default start, a year before an end in year 1 (was a 500)
            raise AdminError("结束日期太早, 请同时给出开始日期 end too early for the default start; give from") from None
        if start_d >= end_d:
            raise AdminError("开始日期须早于结束日期 start must be before end")
        return cls(start_d, end_d)


def merged_config_of(row: Any, docs: Iterable[Doc]) -> tuple[dict[str, Any], str | None]:
    """The configuration the edge of ``row`` (in ``edges``) should hold under ``docs``, and its hash."""
    place = {k: row._mapping[k] for k in ("edge_id", "village", "township", "county")}
    merged = configdocs.merge_for_edge(docs, place)
    # Nothing published for this edge yet: nothing to hold, nothing to record.
    return merged, (canonical_hash(merged) if merged["sources"] else None)


@dataclass
class EdgeKeys:
    """Parsed public keys, cached by PEM text (enrolment never changes a key in place)."""

    cache: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    def get(self, pem: str) -> Ed25519PublicKey:
        key = self.cache.get(pem)
        if key is None:
            key = self.cache[pem] = load_pem_key(pem)
        return key


class CentralStore:
    """One central store over one database (SQLite file or PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._keys = EdgeKeys()
        # Called with (transaction, the edge's row before the batch, the new entries' rows) once a batch's new
        # entries are stored, in the same transaction: the app hands them to the central parts here.
        self.on_verified: Callable[[AsyncConnection, Any, list[dict[str, Any]]], Awaitable[None]] | None = None

    @classmethod
    async def open(cls, url: str) -> CentralStore:
        db = open_database(url)
        try:
            await create_schema(db)
        except BaseException:
            await db.dispose()
            raise
        return cls(db)

    async def close(self) -> None:
        await self.db.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- administrator ----------------------------------------------------------------------

    async def enrol_edge(
        self, edge_id: str, village: str | None, township: str | None, county: str | None, public_key_pem: str
    ) -> dict[str, Any]:
        """Register an edge and its ledger public key. Re-enrolling the same key updates the place; a new key is refused.

        A place left ``None`` is kept on re-enrolment and is :data:`UNPLACED` for a new edge.
        """
        check_edge_id(edge_id)
        given = {"village": village, "township": township, "county": county}
        for what, value in given.items():
            if value is not None and (not isinstance(value, str) or not value.strip() or "/" in value):
                raise AdminError(f"{what} 须为非空名称且不含 / must be a non-empty name without '/'")
        key = load_pem_key(public_key_pem)
        pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        kid = key_id(key)
        async with self.db.writer.begin() as conn:
            row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id).with_for_update())).first()
            other = (await conn.execute(select(edges.c.edge_id).where(edges.c.key_id == kid))).first()
            if other is not None and other.edge_id != edge_id:
                raise AdminError(
                    f"此公钥已登记给 {other.edge_id} this key is already enrolled for edge {other.edge_id}"
                )
            place = {k: v.strip() if v is not None else (UNPLACED if row is None else row._mapping[k])
                     for k, v in given.items()}  # fmt: skip
            if row is None:
                await conn.execute(
                    edges.insert().values(
                        edge_id=edge_id, public_key=pem, key_id=kid, enrolled_at=utc_now(), size=0,
                        last_hash=GENESIS_PREV_HASH, frontier=b"", flagged=False, **place,
                    )
                )  # fmt: skip
                created = True
            elif row.key_id != kid:
                raise AdminError(
                    f"边缘 {edge_id} 已用另一公钥登记 edge {edge_id} is enrolled with another key; "
                    "a new key would disown its signed history — enrol the new host under a new edge id"
                )
            else:
                await conn.execute(edges.update().where(edges.c.edge_id == edge_id).values(**place))
                created = False
        return {"edge_id": edge_id, "key_id": kid, "created": created, **place}

    async def issue_token(self, scope: str, label: str) -> str:
        """A read-only supervisor token for ``county:NAME``, ``township:NAME`` or ``all``; printed once, stored hashed."""
        if scope == "all":
            level, name = "all", "*"
        else:
            try:
                parsed = configdocs.parse_scope(scope, ("county", "township"))
            except ConfigDocError as exc:
                raise AdminError(f"{exc} (or 'all')") from None
            level, name = parsed.level, parsed.name
            if UNPLACED in name.split("/"):
                raise AdminError(f"“{UNPLACED}”不是地名 {UNPLACED!r} marks edges not placed yet, not a place")
        token = secrets.token_urlsafe(32)
        async with self.db.writer.begin() as conn:
            await conn.execute(
                supervisor_tokens.insert().values(
                    token_hash=hashlib.sha256(token.encode()).hexdigest(), scope_level=level, scope_name=name,
                    label=label or "", created_at=utc_now(),
                )
            )  # fmt: skip
        return token

    async def principal_for_token(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        async with self.db.reader.connect() as conn:
            row = (
                await conn.execute(select(supervisor_tokens).where(supervisor_tokens.c.token_hash == digest))
            ).first()
        return None if row is None else Principal(row.scope_level, row.scope_name, row.label)

    async def publish(
        self, scope_text: str, kind: str, document: Any, published_by: str | None = None
    ) -> dict[str, Any]:
        """Store a new version of a configuration document; :class:`ConfigDocError` if it is invalid."""
        scope = configdocs.parse_scope(scope_text)
        if kind == "procurement" and scope.level != "county":
            raise ConfigDocError("一网采购规则由县发布 procurement terms are the county's: use --scope county:NAME")
        configdocs.validate(kind, document)
        content = canonical_json(document)
        digest = hashlib.sha256(content.encode()).hexdigest()
        async with self.db.writer.begin() as conn:
            latest = (
                await conn.execute(
                    select(func.max(config_docs.c.version)).where(
                        config_docs.c.scope_level == scope.level,
                        config_docs.c.scope_name == scope.name,
                        config_docs.c.kind == kind,
                    )
                )
            ).scalar()
            version = (latest or 0) + 1
            result = await conn.execute(
                config_docs.insert().values(
                    scope_level=scope.level, scope_name=scope.name, kind=kind, version=version, content=content,
                    sha256=digest, published_at=utc_now(), published_by=published_by,
                )
            )  # fmt: skip
            seq = result.inserted_primary_key[0] if result.inserted_primary_key else None
        return {"scope": str(scope), "kind": kind, "version": version, "seq": seq, "sha256": digest}

    async def config_documents(self, conn: AsyncConnection | None = None) -> list[Doc]:
        async def load(c: AsyncConnection) -> list[Doc]:
            rows = (await c.execute(select(config_docs).order_by(config_docs.c.seq))).all()
            return [
                Doc(r.seq, Scope(r.scope_level, r.scope_name), r.kind, r.version, r.sha256, json.loads(r.content))
                for r in rows
            ]

        if conn is not None:
            return await load(conn)
        async with self.db.reader.connect() as c:
            return await load(c)

    async def merged_config(
        self, edge_id: str, conn: AsyncConnection | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """The configuration ``edge_id`` should hold now, and its hash."""

        async def run(c: AsyncConnection) -> tuple[dict[str, Any], str | None]:
            row = (await c.execute(select(edges).where(edges.c.edge_id == edge_id))).first()
            if row is None:
                raise Refusal(404, "unknown_edge", f"未登记的边缘 unknown edge {edge_id}")
            return merged_config_of(row, await self.config_documents(c))

        if conn is not None:
            return await run(conn)
        async with self.db.reader.connect() as c:
            return await run(c)

    # -- authentication of edges --------------------------------------------------------------

    async def check_request_headers(
        self, edge_id: str, headers: Mapping[str, str], source: str, now: float | None = None
    ) -> RequestClaim:
        """Authenticate an edge's request as far as its headers go, before any of its body is read.

        :class:`Refusal` (401) unless the edge is enrolled, the clock is close and the key id names an
        enrolled key; the signature itself covers the body and is checked by :meth:`verify_request`.
        Refusals here are signed by no enrolled key, so they are only counted per ``source`` (the
        client's address), never stored one by one.
        """
        from edge.ledger.wire import H_EDGE, H_KEY, H_SIGNATURE, H_TIME

        now = datetime.now(UTC).timestamp() if now is None else now
        claimed = headers.get(H_EDGE.lower()) or headers.get(H_EDGE) or ""
        if claimed != edge_id:
            raise Refusal(401, "bad_request", f"请求头 {H_EDGE} 与路径不符 header {H_EDGE} does not match the path")
        try:
            timestamp = int(headers.get(H_TIME.lower()) or headers.get(H_TIME) or "")
        except ValueError:
            raise Refusal(401, "bad_request", f"缺少或无效的 {H_TIME} missing or invalid {H_TIME}") from None
        kid = (headers.get(H_KEY.lower()) or headers.get(H_KEY) or "").lower()
        signature = headers.get(H_SIGNATURE.lower()) or headers.get(H_SIGNATURE) or ""
        if abs(now - timestamp) > MAX_CLOCK_SKEW_S:
            raise Refusal(
                401, "clock_skew",
                f"请求时间与中心相差超过 {MAX_CLOCK_SKEW_S} 秒 request time is more than {MAX_CLOCK_SKEW_S} s from the store's clock",
                extra={"server_time": int(now)},
            )  # fmt: skip
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id))).first()
            signer = row
            if row is not None and kid != row.key_id:
                signer = (await conn.execute(select(edges).where(edges.c.key_id == kid))).first()
        if row is None:
            refusal = Refusal(401, "unenrolled", f"边缘 {edge_id} 未登记 edge {edge_id} is not enrolled at this store")
            await self._count_unsigned(source, "", edge_id, refusal)
            raise refusal
        if signer is None or not _SIGNATURE_HEX.fullmatch(signature):
            refusal = _bad_signature(edge_id)
            await self._count_unsigned(source, edge_id, edge_id, refusal)
            raise refusal
        return RequestClaim(edge_id, source, timestamp, signature, signer.edge_id, signer.public_key)

    async def verify_request(self, claim: RequestClaim, method: str, path: str, body_sha256: str) -> None:
        """The rest of authentication, once the body is read: its signature under the key the headers named.

        When that is *another enrolled edge's* key and it verifies, that edge is
        flagged: signed evidence that it tried to push as someone else. An
        unsigned or foreign request never flags the claimed edge, or anyone on
        the network could flag any village.
        """
        signed = verify_request_signature(
            self._keys.get(claim.public_key), claim.edge_id, method, path, claim.timestamp, body_sha256,
            claim.signature,
        )  # fmt: skip
        if signed and claim.signer == claim.edge_id:
            return
        if not signed:
            refusal = _bad_signature(claim.edge_id)
            await self._count_unsigned(claim.source, claim.edge_id, claim.edge_id, refusal)
            raise refusal
        refusal = Refusal(
            401, "foreign_key",
            f"此请求由边缘 {claim.signer} 的密钥签名, 冒充 {claim.edge_id} "
            f"signed with the key of edge {claim.signer}, not {claim.edge_id}'s",
        )  # fmt: skip
        await self._record_refusal(claim.edge_id, refusal, authenticated=False, signer_edge=claim.signer)
        await self._flag(
            claim.signer, "impersonation",
            f"以本边缘密钥冒充边缘 {claim.edge_id} 推送 pushed as edge {claim.edge_id} with this edge's key",
        )  # fmt: skip
        raise refusal

    # -- sync -----------------------------------------------------------------------------------

    async def sync_state(self, edge_id: str) -> dict[str, Any]:
        """What the edge needs to resume: the next index the store expects and its last accepted checkpoint."""
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id))).first()
            if row is None:
                raise Refusal(404, "unknown_edge", f"未登记的边缘 unknown edge {edge_id}")
            cp = await self._checkpoint_by_id(conn, row.last_checkpoint_id)
            _, config_hash = merged_config_of(row, await self.config_documents(conn))  # the row is at hand
            pending = await pending_documents(conn, edge_id)
        return {
            "edge_id": edge_id,
            "next_index": row.size,
            "checkpoint": None if cp is None else cp.to_dict(),
            "flagged": bool(row.flagged),
            "flag_reason": row.flag_reason,
            "config_hash": config_hash,
            "server_time": int(datetime.now(UTC).timestamp()),
            # Signed decisions of the central for this village, until its verified ledger shows them settled.
            "documents": pending,
        }

    async def ingest(self, edge_id: str, payload: Any) -> dict[str, Any]:
        """Verify and store one batch, exactly once; :class:`Refusal` with the reason otherwise.

        The caller has authenticated the request (:meth:`authenticate`).
        """
        batch = parse_batch(payload)
        try:
            async with self.db.writer.begin() as conn:
                row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id).with_for_update())).first()
                if row is None:
                    raise Refusal(401, "unenrolled", f"边缘 {edge_id} 未登记 edge {edge_id} is not enrolled")
                result = await self._verify_and_store(conn, row, batch)
                # The reply's configuration, read here: a connection of its own would cost a checkout and
                # three round trips more per batch. It is merged once the batch is committed.
                docs = await self.config_documents(conn)
        except Refusal as refusal:
            if refusal.status != 401:
                await self._record_refusal(
                    edge_id, refusal, authenticated=True, from_index=batch.from_index,
                    tree_size=batch.checkpoint.tree_size,
                )  # fmt: skip
            if refusal.flag:
                await self._flag(edge_id, refusal.code, refusal.reason)
            raise
        merged, config_hash = merged_config_of(row, docs)
        result["config_hash"] = config_hash
        result["config_version"] = merged["version"]
        # The config rides on the reply whenever the edge does not hold the current one.
        result["config"] = merged if batch.config_hash != config_hash else None
        return result

    async def _verify_and_store(self, conn: AsyncConnection, row: Any, batch: Batch) -> dict[str, Any]:
        edge_id: str = row.edge_id
        held: int = row.size
        cp = batch.checkpoint
        end = cp.tree_size
        if batch.from_index > held:
            raise Refusal(
                409, "gap", f"中心只有前 {held} 条, 请从第 {held} 条起推送 the store holds {held} entries; push from index {held}",
                next_index=held,
            )  # fmt: skip
        if not cp.verify(self._keys.get(row.public_key)):
            raise Refusal(
                409, "bad_checkpoint_signature",
                f"大小为 {end} 的检查点签名无效 the checkpoint of size {end} is not signed by {edge_id}'s enrolled key",
                flag=True, next_index=held,
            )  # fmt: skip

        # 1. Entries the store already holds must be byte for byte the same (a replay).
        overlap = [e for e in batch.entries if e.index < held]
        if overlap:
            stored = {
                r.idx: (r.leaf_hash, r.hash)
                for r in await conn.execute(
                    select(entries.c.idx, entries.c.leaf_hash, entries.c.hash).where(
                        entries.c.edge_id == edge_id,
                        entries.c.idx >= overlap[0].index,
                        entries.c.idx <= overlap[-1].index,
                    )
                )
            }
            for e in overlap:
                leaf, chained = stored[e.index]
                if leaf_hash(e.data()) != leaf or (e.hash is not None and e.hash != chained):
                    raise Refusal(
                        409, "entry_rewritten",
                        f"第 {e.index} 条与中心已存的不同: 历史被改写 entry {e.index} differs from the one the store "
                        "already holds: history rewritten",
                        flag=True, next_index=held,
                    )  # fmt: skip

        frontier = _frontier_of(row)
        held_root = frontier.root()
        if end <= held:
            # 2a. Nothing new: the checkpoint must be one of the tree heads the store already holds.
            root = held_root if end == held else await self._root_at(conn, edge_id, end)
            if cp.root_hash != root:
                raise Refusal(
                    409, "forked",
                    f"大小为 {end} 的检查点与中心所存的根不同: 分叉的历史 a checkpoint of size {end} with a root "
                    "other than the one the store holds for that size: a forked history",
                    flag=True, next_index=held,
                )  # fmt: skip
            _, new_cp = await self._store_checkpoint(conn, edge_id, cp)
            await conn.execute(
                edges.update().where(edges.c.edge_id == edge_id).values(
                    last_sync_at=utc_now(), config_hash=batch.config_hash or row.config_hash,
                )
            )  # fmt: skip
            return {"accepted": True, "next_index": held, "stored": 0, "duplicates": len(batch.entries),
                    "checkpoint_stored": new_cp}  # fmt: skip

        # 2b. New entries: pure checks first (chain, root, consistency), then one write.
        extension = check_extension(edge_id, batch, held, row.last_hash, frontier)
        entry_rows, node_rows, prev = extension.entry_rows, extension.node_rows, extension.last_hash
        await _copy_rows(conn, entries, entry_rows)
        if node_rows:  # one in 16 entries: a single executemany, one round trip where a COPY takes two
            await conn.execute(nodes.insert(), node_rows)
        # A checkpoint beyond the size held cannot be stored yet: no need to look for it first.
        cp_id = await self._insert_checkpoint(conn, edge_id, cp)
        updated = await conn.execute(
            edges.update().where(edges.c.edge_id == edge_id, edges.c.size == held).values(
                size=end, last_hash=prev, frontier=_frontier_blob(frontier), last_checkpoint_id=cp_id,
                last_sync_at=utc_now(), config_hash=batch.config_hash or row.config_hash,
            )
        )  # fmt: skip
        if updated.rowcount != 1:  # cannot happen under the row lock; never store on a race
            raise Refusal(409, "conflict", "并发推送冲突, 请重试 concurrent push; retry", next_index=held)
        # Exactly once, with the entries: documents the edge applied or refused, and the parts' reactions.
        await settle(conn, edge_id, entry_rows)
        if self.on_verified is not None:
            await self.on_verified(conn, row, entry_rows)
        return {"accepted": True, "next_index": end, "stored": len(entry_rows),
                "duplicates": len(batch.entries) - len(entry_rows), "checkpoint_stored": True}  # fmt: skip

    async def _store_checkpoint(self, conn: AsyncConnection, edge_id: str, cp: Checkpoint) -> tuple[int, bool]:
        """Keep a checkpoint (once: a replay of the same signed head is not stored again): its id, and whether
        it was stored now."""
        known = await self._checkpoint_id(conn, edge_id, cp)
        if known is not None:
            return known, False
        return await self._insert_checkpoint(conn, edge_id, cp), True

    async def _insert_checkpoint(self, conn: AsyncConnection, edge_id: str, cp: Checkpoint) -> int:
        stored = await conn.execute(
            checkpoints.insert().values(
                edge_id=edge_id, tree_size=cp.tree_size, root_hash=cp.root_hash, timestamp=cp.timestamp,
                signature=cp.signature, received_at=utc_now(),
            ).returning(checkpoints.c.id)
        )  # fmt: skip
        return int(stored.scalar_one())

    async def _checkpoint_id(self, conn: AsyncConnection, edge_id: str, cp: Checkpoint) -> int | None:
        return (
            await conn.execute(
                select(checkpoints.c.id).where(
                    checkpoints.c.edge_id == edge_id,
                    checkpoints.c.tree_size == cp.tree_size,
                    checkpoints.c.timestamp == cp.timestamp,
                )
            )
        ).scalar()

    async def _checkpoint_by_id(self, conn: AsyncConnection, cp_id: int | None) -> Checkpoint | None:
        if cp_id is None:
            return None
        r = (await conn.execute(select(checkpoints).where(checkpoints.c.id == cp_id))).first()
        return None if r is None else Checkpoint(r.tree_size, r.root_hash, r.timestamp, r.signature)

    async def _record_refusal(
        self,
        edge_id: str,
        refusal: Refusal,
        *,
        authenticated: bool,
        signer_edge: str | None = None,
        from_index: int | None = None,
        tree_size: int | None = None,
    ) -> None:
        async with self.db.writer.begin() as conn:
            await conn.execute(
                refusals.insert().values(
                    edge_id=edge_id[:64], at=utc_now(), code=refusal.code, reason=refusal.reason,
                    authenticated=authenticated, signer_edge=signer_edge, from_index=from_index, tree_size=tree_size,
                )
            )  # fmt: skip

    async def _count_unsigned(self, source: str, edge_id: str, claimed: str, refusal: Refusal) -> None:
        """Count a refusal no enrolled key signed: one row per source, enrolled edge ("" for none) and code.

        Past :data:`MAX_REFUSAL_SOURCES` rows a new source is counted under :data:`OVERFLOW_SOURCE`, so
        however many addresses send junk, the table stays bounded.
        """
        now = utc_now()
        key = {"source": source[:64], "edge_id": edge_id[:64], "code": refusal.code}
        async with self.db.writer.begin() as conn:
            known = (
                await conn.execute(
                    select(refusal_counts.c.count).where(*(refusal_counts.c[k] == v for k, v in key.items()))
                )
            ).first()
            if known is None:
                rows = (await conn.execute(select(func.count()).select_from(refusal_counts))).scalar() or 0
                if rows >= MAX_REFUSAL_SOURCES:
                    key["source"] = OVERFLOW_SOURCE
            latest = {"last_at": now, "last_claimed": claimed[:64], "reason": refusal.reason}
            await conn.execute(
                upsert(
                    self.db, refusal_counts, {**key, "count": 1, "first_at": now, **latest},
                    {"count": refusal_counts.c.count + 1, **latest},
                )
            )  # fmt: skip

    async def _flag(self, edge_id: str, code: str, reason: str) -> None:
        """Flag an edge; the first flag's reason is kept (every later refusal is in the refusals list)."""
        async with self.db.writer.begin() as conn:
            await conn.execute(
                edges.update().where(edges.c.edge_id == edge_id, edges.c.flagged.is_(False)).values(
                    flagged=True, flag_code=code, flag_reason=reason, flagged_at=utc_now(),
                )
            )  # fmt: skip

    async def clear_flag(self, edge_id: str) -> bool:
        """An administrator's decision after investigation; the refusals stay on record."""
        async with self.db.writer.begin() as conn:
            result = await conn.execute(
                edges.update().where(edges.c.edge_id == edge_id).values(
                    flagged=False, flag_code=None, flag_reason=None, flagged_at=None,
                )
            )  # fmt: skip
        return result.rowcount == 1

    # -- Merkle proofs from what is stored --------------------------------------------------------

    async def _node_hashes(self, conn: AsyncConnection, edge_id: str, wanted: Iterable[NodeId]) -> dict[NodeId, bytes]:
        wanted = set(wanted)
        high, low = split_kept(sorted(wanted))
        found: dict[NodeId, bytes] = {}
        if high:
            rows = await conn.execute(
                select(nodes.c.level, nodes.c.idx, nodes.c.hash).where(
                    nodes.c.edge_id == edge_id, tuple_(nodes.c.level, nodes.c.idx).in_(high)
                )
            )
            found.update({(r.level, r.idx): r.hash for r in rows})
        if low:
            spans = [(idx << level, (idx + 1) << level) for level, idx in low]
            rows = await conn.execute(
                select(entries.c.idx, entries.c.leaf_hash).where(
                    entries.c.edge_id == edge_id,
                    or_(*(and_(entries.c.idx >= a, entries.c.idx < b) for a, b in spans)),
                )
            )
            found.update(fold_small(low, {r.idx: r.leaf_hash for r in rows}))
        missing = wanted - set(found)
        if missing:
            raise RuntimeError(f"中心库缺少证明节点 proof nodes missing for {edge_id}: {sorted(missing)[:5]}")
        return found

    async def _range_hashes(
        self, conn: AsyncConnection, edge_id: str, ranges: Sequence[tuple[int, int]]
    ) -> list[bytes]:
        found = await self._node_hashes(conn, edge_id, {n for a, b in ranges for n in perfect_nodes(a, b)})
        return [fold([found[n] for n in perfect_nodes(a, b)]) for a, b in ranges]

    async def _root_at(self, conn: AsyncConnection, edge_id: str, size: int) -> bytes:
        if size == 0:
            return EMPTY_ROOT
        (root,) = await self._range_hashes(conn, edge_id, [(0, size)])
        return root

    async def inclusion_proof(self, edge_id: str, index: int, tree_size: int | None = None) -> dict[str, Any]:
        """A self-contained inclusion proof of one entry against a checkpoint the store accepted (default: the last)."""
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id))).first()
            if row is None:
                raise Refusal(404, "unknown_edge", f"未登记的边缘 unknown edge {edge_id}")
            query = select(checkpoints).where(checkpoints.c.edge_id == edge_id)
            if tree_size is None:
                query = query.where(checkpoints.c.id == row.last_checkpoint_id)
            else:
                query = query.where(checkpoints.c.tree_size == tree_size).order_by(checkpoints.c.id.desc())
            cp_row = (await conn.execute(query.limit(1))).first()
            if cp_row is None:
                raise Refusal(
                    404, "no_checkpoint", f"没有大小为 {tree_size} 的已接受检查点 no accepted checkpoint of that size"
                )
            cp = Checkpoint(cp_row.tree_size, cp_row.root_hash, cp_row.timestamp, cp_row.signature)
            if not 0 <= index < cp.tree_size:
                raise Refusal(
                    404, "no_entry", f"检查点(大小 {cp.tree_size})不含第 {index} 条 entry {index} is not covered"
                )
            e = (
                await conn.execute(select(entries).where(entries.c.edge_id == edge_id, entries.c.idx == index))
            ).first()
            proof = await self._range_hashes(conn, edge_id, inclusion_proof_ranges(index, cp.tree_size))
        if e is None:  # covered by an accepted checkpoint, so stored: never happens
            raise Refusal(500, "missing_entry", f"中心库缺少第 {index} 条 entry {index} missing from the store")
        data = encode_entry(e.idx, e.ts, e.kind, e.body)
        leaf = leaf_hash(data)
        key = self._keys.get(row.public_key)
        included = verify_inclusion(leaf, index, cp.tree_size, proof, cp.root_hash)
        return {
            "edge_id": edge_id,
            "entry": {"index": e.idx, "ts": e.ts, "kind": e.kind, "body": json.loads(e.body), "hash": e.hash.hex()},
            "canonical": data.decode(),
            "leaf_hash": leaf.hex(),
            "tree_size": cp.tree_size,
            "root_hash": cp.root_hash.hex(),
            "proof": [p.hex() for p in proof],
            "checkpoint": cp.to_dict(),
            "public_key": row.public_key,
            "verified": {"inclusion": included, "checkpoint_signature": cp.verify(key)},
        }

    # -- views ----------------------------------------------------------------------------------

    async def _edges_in_scope(self, conn: AsyncConnection, principal: Principal) -> list[Any]:
        query = select(edges).order_by(edges.c.county, edges.c.township, edges.c.village, edges.c.edge_id)
        if principal.level == "county":
            query = query.where(edges.c.county == principal.name)
        elif principal.level == "township":
            county, _, township = principal.name.rpartition("/")
            query = query.where(edges.c.township == township)
            if county:
                query = query.where(edges.c.county == county)
        elif principal.level != "all":  # a supplier or bank: no village's records
            return []
        return list((await conn.execute(query)).all())

    async def visible_edge(self, principal: Principal, edge_id: str) -> Any:
        async with self.db.reader.connect() as conn:
            row = (await conn.execute(select(edges).where(edges.c.edge_id == edge_id))).first()
        if row is None or not principal.covers(row.county, row.township):
            # The same answer for "no such edge" and "not yours": scoping does not leak names.
            raise Refusal(404, "unknown_edge", f"没有此边缘或无权查看 no such edge in your scope: {edge_id}")
        return row

    async def edge_summaries(self, principal: Principal) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        async with self.db.reader.connect() as conn:
            rows = await self._edges_in_scope(conn, principal)
            ids = [r.edge_id for r in rows]
            cps: dict[int, Any] = {}
            refused: dict[str, tuple[int, int]] = {}
            owed: dict[str, int] = {}  # entries a central part's reaction failed on, to be handed again
            if ids:
                cp_ids = [r.last_checkpoint_id for r in rows if r.last_checkpoint_id is not None]
                if cp_ids:
                    cps = {c.id: c for c in await conn.execute(select(checkpoints).where(checkpoints.c.id.in_(cp_ids)))}
                for r in await conn.execute(
                    select(refusals.c.edge_id, refusals.c.authenticated, func.count())
                    .where(refusals.c.edge_id.in_(ids))
                    .group_by(refusals.c.edge_id, refusals.c.authenticated)
                ):
                    signed, unsigned = refused.get(r[0], (0, 0))
                    refused[r[0]] = (signed + r[2], unsigned) if r[1] else (signed, unsigned + r[2])
                for r in await conn.execute(
                    select(refusal_counts.c.edge_id, func.sum(refusal_counts.c.count))
                    .where(refusal_counts.c.edge_id.in_(ids))
                    .group_by(refusal_counts.c.edge_id)
                ):
                    signed, unsigned = refused.get(r[0], (0, 0))
                    refused[r[0]] = (signed, unsigned + int(r[1]))
                for r in await conn.execute(
                    select(reaction_failures.c.edge_id, func.count())
                    .where(reaction_failures.c.edge_id.in_(ids))
                    .group_by(reaction_failures.c.edge_id)
                ):
                    owed[r[0]] = int(r[1])
        out = []
        for r in rows:
            cp = cps.get(r.last_checkpoint_id) if r.last_checkpoint_id is not None else None
            age = None
            if cp is not None:
                try:
                    age = int((now - datetime.fromisoformat(cp.timestamp)).total_seconds())
                except ValueError:
                    age = None
            signed, unsigned = refused.get(r.edge_id, (0, 0))
            out.append({
                "edge_id": r.edge_id, "village": r.village, "township": r.township, "county": r.county,
                "entries": r.size, "last_sync_at": r.last_sync_at,
                "checkpoint": None if cp is None else {
                    "tree_size": cp.tree_size, "root_hash": cp.root_hash.hex(), "timestamp": cp.timestamp,
                    "received_at": cp.received_at, "age_s": age,
                },
                "flagged": bool(r.flagged), "flag_code": r.flag_code, "flag_reason": r.flag_reason,
                "flagged_at": r.flagged_at, "refused_batches": signed, "refused_attempts": unsigned,
                "config_hash": r.config_hash, "reactions_owed": owed.get(r.edge_id, 0),
            })  # fmt: skip
        return out

    async def edge_detail(self, principal: Principal, edge_id: str) -> dict[str, Any]:
        row = await self.visible_edge(principal, edge_id)
        (summary,) = [s for s in await self.edge_summaries(Principal("all", "*")) if s["edge_id"] == row.edge_id]
        async with self.db.reader.connect() as conn:
            cps = (
                await conn.execute(
                    select(checkpoints)
                    .where(checkpoints.c.edge_id == edge_id)
                    .order_by(checkpoints.c.id.desc())
                    .limit(20)
                )
            ).all()
            refused = (
                await conn.execute(
                    select(refusals).where(refusals.c.edge_id == edge_id).order_by(refusals.c.id.desc()).limit(50)
                )
            ).all()
            counted = await self._counted_refusals(conn, refusal_counts.c.edge_id == edge_id, 50)
            checkpoint_count = (
                await conn.execute(
                    select(func.count()).select_from(checkpoints).where(checkpoints.c.edge_id == edge_id)
                )
            ).scalar()
            _, config_hash = await self.merged_config(edge_id, conn)
        summary["public_key"] = row.public_key
        summary["key_id"] = row.key_id
        summary["enrolled_at"] = row.enrolled_at
        summary["checkpoints_total"] = checkpoint_count
        summary["config_current"] = summary["config_hash"] == config_hash
        summary["checkpoints"] = [
            {"tree_size": c.tree_size, "root_hash": c.root_hash.hex(), "timestamp": c.timestamp,
             "signature": c.signature.hex(), "received_at": c.received_at} for c in cps
        ]  # fmt: skip
        summary["refusals"] = [
            {"at": r.at, "code": r.code, "reason": r.reason, "authenticated": bool(r.authenticated),
             "signer_edge": r.signer_edge, "from_index": r.from_index, "tree_size": r.tree_size} for r in refused
        ]  # fmt: skip
        summary["refusal_counts"] = counted
        return summary

    async def list_entries(
        self,
        principal: Principal,
        edge_id: str,
        *,
        kind: str | None = None,
        flagged_only: bool = False,
        period: Period | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        await self.visible_edge(principal, edge_id)
        query = select(entries).where(entries.c.edge_id == edge_id)
        if kind:
            query = query.where(entries.c.kind == kind)
        if flagged_only:
            query = query.where(entries.c.flag.is_not(None))
        if period is not None:
            query = query.where(entries.c.day >= period.start.isoformat(), entries.c.day < period.end.isoformat())
        if before is not None:
            query = query.where(entries.c.idx < before)
        query = query.order_by(entries.c.idx.desc()).limit(max(1, min(limit, 500)))
        async with self.db.reader.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            {"index": r.idx, "ts": r.ts, "day": r.day, "kind": r.kind, "body": json.loads(r.body), "flag": r.flag,
             "hash": r.hash.hex()} for r in rows
        ]  # fmt: skip

    async def statistics(self, principal: Principal, period: Period, group: str = "month") -> dict[str, Any]:
        """Seal uses and flags per village and period (``month`` or ``day``, Asia/Shanghai), flags by kind."""
        width = 7 if group == "month" else 10
        start, end = period.start.isoformat(), period.end.isoformat()
        async with self.db.reader.connect() as conn:
            scoped = await self._edges_in_scope(conn, principal)
            ids = [r.edge_id for r in scoped]
            uses: Sequence[Any] = []
            flags: Sequence[Any] = []
            if ids:
                bucket = func.substr(entries.c.day, 1, width).label("period")
                uses = (
                    await conn.execute(
                        select(entries.c.edge_id, bucket, func.count())
                        .where(entries.c.kind == SEAL_USE_KIND, entries.c.day >= start, entries.c.day < end,
                               entries.c.edge_id.in_(ids))
                        .group_by(entries.c.edge_id, bucket)
                    )
                ).all()  # fmt: skip
                flags = (
                    await conn.execute(
                        select(entries.c.edge_id, bucket, entries.c.flag, func.count())
                        .where(entries.c.flag.is_not(None), entries.c.day >= start, entries.c.day < end,
                               entries.c.edge_id.in_(ids))
                        .group_by(entries.c.edge_id, bucket, entries.c.flag)
                    )
                ).all()  # fmt: skip
        villages: dict[str, dict[str, Any]] = {}
        for r in scoped:
            villages[r.edge_id] = {"edge_id": r.edge_id, "village": r.village, "township": r.township,
                                   "county": r.county, "uses": {}, "flags": {}, "uses_total": 0, "flags_total": 0,
                                   "flagged_edge": bool(r.flagged)}  # fmt: skip
        by_kind: dict[str, int] = {}
        periods: set[str] = set()
        for edge_id, p, n in uses:
            villages[edge_id]["uses"][p] = n
            villages[edge_id]["uses_total"] += n
            periods.add(p)
        for edge_id, p, flag, n in flags:
            v = villages[edge_id]["flags"].setdefault(p, {})
            v[flag] = n
            villages[edge_id]["flags_total"] += n
            by_kind[flag] = by_kind.get(flag, 0) + n
            periods.add(p)
        return {
            "scope": principal.describe(),
            "from": start,
            "to": end,
            "group": group,
            "periods": sorted(periods),
            "villages": list(villages.values()),
            "flags_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
        }

    async def module_records(
        self, principal: Principal, period: Period, limit: int = 200,
        line: Callable[[Any, int, str, str, str], str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """The latest records of the supervision modules in scope and period, newest first, grouped by
        module (the kind's prefix): village, time, kind and a one-line summary of each (``line(edge_row, index,
        ts, kind, body_json)``, for a page; the body's fields as written by default, as the API answers)."""
        start, end = period.start.isoformat(), period.end.isoformat()
        async with self.db.reader.connect() as conn:
            scoped = {r.edge_id: r for r in await self._edges_in_scope(conn, principal)}
            rows: Sequence[Any] = []
            if scoped:
                rows = (
                    await conn.execute(
                        select(entries.c.edge_id, entries.c.idx, entries.c.ts, entries.c.kind, entries.c.body)
                        .where(entries.c.edge_id.in_(list(scoped)), entries.c.day >= start, entries.c.day < end,
                               entries.c.kind.contains(".", autoescape=True),
                               *(~entries.c.kind.startswith(f"{p}.", autoescape=True) for p in EDGE_KIND_PREFIXES))
                        .order_by(entries.c.ts.desc(), entries.c.idx.desc())
                        .limit(max(1, min(limit, 1000)))
                    )
                ).all()  # fmt: skip
        modules: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            edge = scoped[r.edge_id]
            summary = body_summary(r.body) if line is None else line(edge, r.idx, r.ts, r.kind, r.body)
            modules.setdefault(r.kind.split(".", 1)[0], []).append({
                "edge_id": r.edge_id, "village": edge.village, "township": edge.township, "index": r.idx,
                "ts": r.ts, "kind": r.kind, "summary": summary,
            })  # fmt: skip
        return {"scope": principal.describe(), "from": start, "to": end, "modules": dict(sorted(modules.items()))}

    async def search_pages(
        self, principal: Principal, query: str, period: Period, village: str | None = None, flag: str | None = None,
        limit: int = 50,
    ) -> dict[str, Any]:
        """Stamped pages in scope and period whose OCR text holds every word of ``query``, newest first, each
        with its check against the approved original; ``flag``: only pages flagged so (``any``: any flag).

        The edges' ``photo.ocr`` and ``photo.check`` entries are the source: their canonical JSON keeps
        Chinese as it is, so a word is a substring of the body (LIKE, on SQLite and PostgreSQL alike).
        The flags are in the checks, so readings are taken newest first a batch at a time until enough
        pages passed the flag filter or the period has no more.
        """  # fmt: skip
        start, end = period.start.isoformat(), period.end.isoformat()
        limit = max(1, min(limit, 200))
        batch = limit if flag is None else max(limit, 500)
        pages: list[dict[str, Any]] = []
        async with self.db.reader.connect() as conn:
            scoped = {r.edge_id: r for r in await self._edges_in_scope(conn, principal) if not village or r.village == village}
            readings = (
                select(entries.c.edge_id, entries.c.idx, entries.c.ts, entries.c.body)
                .where(entries.c.kind == PHOTO_OCR, entries.c.edge_id.in_(list(scoped)), entries.c.day >= start,
                       entries.c.day < end, *(entries.c.body.contains(w, autoescape=True) for w in query.split()))
                .order_by(entries.c.ts.desc(), entries.c.idx.desc())
            )  # fmt: skip
            offset = 0
            while scoped and len(pages) < limit:
                rows = (await conn.execute(readings.offset(offset).limit(batch))).all()
                # an OCR that failed has no text to find (its anomaly is in the ledger views)
                hits = [(r, body) for r in rows if "text" in (body := json.loads(r.body))]
                checks = await self._photo_checks(conn, [(r.edge_id, str(body.get("photo"))) for r, body in hits], start)
                for r, body in hits:
                    check = checks.get((r.edge_id, str(body.get("photo")))) or {}
                    flags = list(check.get("flags", []))
                    if flag is None or (flags if flag == "any" else flag in flags):
                        edge = scoped[r.edge_id]
                        pages.append({
                            "edge_id": r.edge_id, "village": edge.village, "township": edge.township, "index": r.idx,
                            "ts": r.ts, "request_id": body.get("request_id"), "press_no": body.get("press_no"),
                            "photo": body.get("photo"), "title": (body.get("fields") or {}).get("title"),
                            "text": body["text"], "match": check.get("match"), "score_permille": check.get("score_permille"),
                            "flags": flags,
                        })  # fmt: skip
                if len(rows) < batch:
                    break
                offset += batch
        return {"scope": principal.describe(), "from": start, "to": end, "query": query, "pages": pages[:limit]}

    async def _photo_checks(
        self, conn: AsyncConnection, photos: Sequence[tuple[str, str]], start: str
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """The ``photo.check`` body of each (edge, photo), recorded after its reading (so from ``start`` on)."""
        by_edge: dict[str, list[str]] = {}
        for edge_id, sha in photos:
            by_edge.setdefault(edge_id, []).append(sha)
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for edge_id, shas in by_edge.items():
            rows = (
                await conn.execute(
                    select(entries.c.body).where(
                        entries.c.edge_id == edge_id, entries.c.kind == PHOTO_CHECK, entries.c.day >= start,
                        or_(*(entries.c.body.contains(f'"photo":"{sha}"', autoescape=True) for sha in shas)),
                    )
                )
            ).all()  # fmt: skip
            for row in rows:
                body = json.loads(row.body)
                found[(edge_id, str(body.get("photo")))] = body
        return found

    async def recent_refusals(self, principal: Principal, limit: int = 100) -> list[dict[str, Any]]:
        """Refusals signed by an enrolled key (a rewritten history, a foreign key), latest first, one each.

        Junk nobody signed is only counted (:meth:`unsigned_refusals`), so it cannot push these out of view.
        """
        async with self.db.reader.connect() as conn:
            ids = [r.edge_id for r in await self._edges_in_scope(conn, principal)]
            if not ids:
                return []
            rows = (
                await conn.execute(
                    select(refusals).where(refusals.c.edge_id.in_(ids)).order_by(refusals.c.id.desc()).limit(limit)
                )
            ).all()
        return [
            {"edge_id": r.edge_id, "at": r.at, "code": r.code, "reason": r.reason,
             "authenticated": bool(r.authenticated), "signer_edge": r.signer_edge} for r in rows
        ]  # fmt: skip

    async def unsigned_refusals(self, principal: Principal, limit: int = 100) -> list[dict[str, Any]]:
        """Counts of refused requests no enrolled key signed, by source, edge and reason, latest first:
        against edges in scope, and from edges not enrolled for the administrator's ``all`` scope."""
        async with self.db.reader.connect() as conn:
            ids = [r.edge_id for r in await self._edges_in_scope(conn, principal)]
            where: ColumnElement[bool] = refusal_counts.c.edge_id.in_(ids)
            if principal.level == "all":
                where = or_(where, refusal_counts.c.edge_id == "")
            return await self._counted_refusals(conn, where, limit)

    async def unknown_edge_refusals(self, limit: int = 100) -> list[dict[str, Any]]:
        """Counts of pushes from edges that are not enrolled (administrator's view)."""
        async with self.db.reader.connect() as conn:
            return await self._counted_refusals(conn, refusal_counts.c.edge_id == "", limit)

    async def _counted_refusals(
        self, conn: AsyncConnection, where: ColumnElement[bool], limit: int
    ) -> list[dict[str, Any]]:
        rows = await conn.execute(
            select(refusal_counts).where(where).order_by(refusal_counts.c.last_at.desc()).limit(limit)
        )
        return [
            {"source": r.source, "edge_id": r.edge_id or r.last_claimed, "enrolled": bool(r.edge_id),
             "code": r.code, "count": r.count, "first_at": r.first_at, "last_at": r.last_at, "reason": r.reason}
            for r in rows
        ]  # fmt: skip

    async def status(self) -> list[dict[str, Any]]:
        """Per edge: entries held, last checkpoint, last sync, flag (``qinglian central status``)."""
        return await self.edge_summaries(Principal("all", "*"))

    # -- raw counts for tests and benchmarks ----------------------------------------------------

    async def count_entries(self, edge_id: str) -> int:
        async with self.db.reader.connect() as conn:
            return int(
                (
                    await conn.execute(select(func.count()).select_from(entries).where(entries.c.edge_id == edge_id))
                ).scalar()
                or 0
            )

    async def stored_indexes(self, edge_id: str) -> list[int]:
        async with self.db.reader.connect() as conn:
            rows = await conn.execute(select(entries.c.idx).where(entries.c.edge_id == edge_id).order_by(entries.c.idx))
            return [r.idx for r in rows]
