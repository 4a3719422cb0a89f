"""Sealed quotes (密封报价) for a drawn project, and their opening before the peer observer.

After the draw, the township officer invites the three contractors (the village's recommended one and the two
drawn) and sets the window and the supervision hotline (``small_project.quoting``, sent down: the village shows
both). Each contractor, logged in with the supplier account its
unified social credit code was approved under, quotes once inside the window; a quote from a contractor not
invited, one blacklisted since the draw, or one after the window is refused and nothing is kept. After the window
the officer opens all of them together, naming the peer observer (同行列席: a cadre of another village); the
lowest valid quote wins by :func:`rules.winner` (a tie: the quote in first), and the result goes down to the
village as ``small_project.opened``, which the village's edge re-checks by the same rule before applying it.

**Why nobody reads a quote before the opening.** A quote is encrypted as it arrives with AES-256-GCM under the
round's key, and only the ciphertext, its nonce and a digest are kept (the table and the ``small_project.quote``
decision). The round's key is HKDF-SHA256 of the central's quote master key with the round's id: the master key is
32 random bytes in a 0600 file of the central's data folder (``small_project/quotes.key``, beside the decision
log's signing key), never in the database, so a database reader (a dump, a replica, a backup, SQL access) holds
ciphertext only. No page or API returns a quote, its amount or the key before the opening, and the opening is
refused before the window closes, so a township officer sees no more than the count of quotes in. At the opening
the round's key is published in the result (one round's key says nothing of another's: HKDF per round), so
anyone holding the decision log decrypts every quote as it was sealed and checks the digest — SHA-256 of the
plaintext, which carries a random salt so the digest does not give the amount away by trying amounts — and the
winner. What remains trusted is the central's host itself, which holds the master key as it holds the signing
key: whoever can read its key files and run code there could decrypt early, as they could sign in its name.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import BigInteger, Column, PrimaryKeyConstraint, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import central.modules.small_project.projects as projects_
import edge.modules.small_project.rules as rules  # noqa: PLR0402 (the pure rules only, as the layers allow)
from central.accounts.tables import accounts, applications
from central.db import metadata
from central.modules.small_project.draw import draws
from central.modules.small_project.pool import contractors, text, township_of
from central.store import Principal, Refusal
from edge.kernel.fmt import DEFAULT_MAX_AMOUNT_FEN, AmountError, parse_yuan
from edge.ledger import canonical_json
from edge.ledger.localtime import SHANGHAI
from edge.ledger.private import open_private, private_dir

NAME = "small_project"
QUOTING, QUOTE, OPENED = f"{NAME}.quoting", f"{NAME}.quote", f"{NAME}.opened"
WINDOW_HOURS = (1, 240)  # from an hour to ten days
KEY_FILE = ("small_project", "quotes.key")
_INFO = b"qinglian small_project quotes v1:"
_HOTLINE = re.compile(r"[0-9][0-9-]{4,19}", re.ASCII)
_NONCE = 12

rounds = Table(
    "small_project_rounds",
    metadata,
    Column("draw_id", String(32), primary_key=True),  # the draw whose three are invited
    Column("invited", Text, nullable=False),  # JSON [{id, name}]: the recommended, then the two drawn
    Column("budget_fen", BigInteger, nullable=False),
    Column("closes_at", Text, nullable=False),  # UTC ISO: no quote from then on, no opening before
    Column("hotline", String(20), nullable=False),  # "121": the township's supervision hotline, on the notice
    Column("status", String(8), nullable=False),  # quoting | opened
    Column("result", Text, nullable=True),  # JSON: the opening's decision body, once opened
)
sealed = Table(
    "small_project_quotes",
    metadata,
    Column("draw_id", String(32), nullable=False),
    Column("contractor", String(18), nullable=False),  # the unified social credit code
    Column("nonce", Text, nullable=False),  # base64
    Column("ciphertext", Text, nullable=False),  # base64 AES-256-GCM of the plaintext; no amount in clear
    Column("digest", String(64), nullable=False),  # SHA-256 of the plaintext (salted)
    Column("at", Text, nullable=False),
    Column("decision_index", BigInteger, nullable=False),
    PrimaryKeyConstraint("draw_id", "contractor"),
)


# -- the key ---------------------------------------------------------------------------------------------------


def master_key(decisions: Any) -> bytes:
    """The central's quote master key, made on first use (0600, never overwritten) beside the decision log."""
    path = decisions.ledger.data_dir.parent.joinpath(*KEY_FILE)
    if not path.exists():
        private_dir(path.parent)
        try:
            with open_private(path, exclusive=True) as f:
                f.write(os.urandom(32))
                f.flush()
                os.fsync(f.fileno())
        except FileExistsError:  # another process made it first: theirs holds
            pass
    key = path.read_bytes()
    if len(key) != 32:
        raise RuntimeError(f"报价主密钥文件损坏 the quote master key is not 32 bytes: {path}")
    return key


def round_key(master: bytes, draw_id: str) -> bytes:
    """The round's AES-256 key: HKDF-SHA256 of the master key, its info naming the round."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO + draw_id.encode()).derive(master)


def _aad(draw_id: str, contractor: str) -> bytes:
    """Binds a ciphertext to its round and contractor: moved to another row, it does not open."""
    return f"{draw_id}:{contractor}".encode()


def seal_quote(key: bytes, draw_id: str, contractor: str, amount_fen: int) -> dict[str, str]:
    """A quote as it is kept: ``{nonce, ciphertext, digest}`` (base64, base64, hex)."""
    plain = canonical_json({"amount_fen": amount_fen, "salt": secrets.token_hex(16)}).encode()
    nonce = os.urandom(_NONCE)
    ciphertext = AESGCM(key).encrypt(nonce, plain, _aad(draw_id, contractor))
    return {"nonce": base64.b64encode(nonce).decode(), "ciphertext": base64.b64encode(ciphertext).decode(),
            "digest": hashlib.sha256(plain).hexdigest()}  # fmt: skip


def open_quote(key: bytes, draw_id: str, contractor: str, kept: Any) -> int:
    """The amount (fen) of a kept quote; ``ValueError`` when it does not open or does not match its digest."""
    try:
        plain = AESGCM(key).decrypt(base64.b64decode(kept.nonce), base64.b64decode(kept.ciphertext),
                                    _aad(draw_id, contractor))  # fmt: skip
    except (InvalidTag, ValueError) as exc:
        raise ValueError(f"{contractor} 的密封报价无法解密") from exc
    if hashlib.sha256(plain).hexdigest() != kept.digest:
        raise ValueError(f"{contractor} 的密封报价与其摘要不符")
    return int(json.loads(plain)["amount_fen"])


# -- the steps -------------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def local(text_: str) -> str:
    """A stored UTC moment as the pages show it (Asia/Shanghai)."""
    return datetime.fromisoformat(text_).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


async def _drawn(conn: AsyncConnection, who: Principal, draw_id: str, what: str) -> Any:
    county, township = township_of(who, what)
    row = (await conn.execute(select(draws).where(draws.c.id == draw_id))).first()
    if row is None or (row.county, row.township) != (county, township):
        raise Refusal(404, "not_found", "本乡镇没有这次抽取")
    return row


async def invite(
    conn: AsyncConnection, decisions: Any, who: Principal, draw_id: str, hours: str, hotline: str, moment: datetime
) -> str:
    """Invite the three to quote until ``hours`` from now: the window's close (UTC ISO). ``hotline``: the
    township's supervision number, sent down with the invitation and shown on the project's notice from then on."""
    row = await _drawn(conn, who, draw_id, "发出报价邀请")
    if row.status != "drawn":
        raise Refusal(409, "not_drawn", "抽取完成后才能发出报价邀请")
    if (await conn.execute(select(rounds.c.draw_id).where(rounds.c.draw_id == draw_id))).first() is not None:
        raise Refusal(409, "invited", "本工程已发出报价邀请")
    low, high = WINDOW_HOURS
    number = hours.strip()
    if not (number.isascii() and number.isdigit() and low <= int(number) <= high):
        raise Refusal(400, "bad_window", f"报价时间应为 {low} 到 {high} 小时的整数")
    number_ = hotline.strip()
    if _HOTLINE.fullmatch(number_) is None:
        raise Refusal(400, "bad_hotline", "监督热线应为电话号码，例如 0572-2345678")
    record = json.loads(row.record)
    names = {c["id"]: c["name"] for c in record["pool"]}
    invited = [{"id": i, "name": names[i]} for i in (record["recommended"], *record["drawn"])]
    project = await projects_.one(conn, row.edge_id, row.project_id)
    budget = int(project["total_fen"]) if project else 0
    closes = _iso(moment + timedelta(hours=int(number)))
    await decisions.decide(QUOTING, {"draw_id": draw_id, "project_id": row.project_id, "village": row.village,
                                     "invited": invited, "budget_fen": budget, "closes_at": closes,
                                     "hotline": number_},
                           row.edge_id, actor=who.account or who.name, conn=conn)  # fmt: skip
    await conn.execute(rounds.insert().values(draw_id=draw_id, invited=json.dumps(invited, ensure_ascii=False),
                                              budget_fen=budget, closes_at=closes, hotline=number_, status="quoting"))  # fmt: skip
    return closes


async def credit_code_of(conn: AsyncConnection, who: Principal) -> str | None:
    """The unified social credit code a supplier's account was approved under (None: not an approved supplier)."""
    if who.role != "supplier" or not who.account:
        return None
    query = select(applications.c.credit_code).join(accounts, accounts.c.id == applications.c.account_id).where(
        accounts.c.username == who.account, applications.c.kind == "supplier", applications.c.status == "approved")  # fmt: skip
    found = (await conn.execute(query)).first()
    return str(found[0]).upper() if found else None


async def submit(
    conn: AsyncConnection, decisions: Any, who: Principal, draw_id: str, amount: str, moment: datetime
) -> None:
    """A contractor's sealed quote, inside the window, once; encrypted before anything is written."""
    code = await credit_code_of(conn, who)
    if code is None:
        raise Refusal(403, "forbidden", "只有经审核的承包商（供应商账号）可以报价")
    found = (await conn.execute(select(rounds, draws.c.county, draws.c.township).join(draws, draws.c.id == rounds.c.draw_id)
                                .where(rounds.c.draw_id == draw_id).with_for_update(of=rounds))).first()  # fmt: skip
    invited = json.loads(found.invited) if found else []
    if found is None or code not in {c["id"] for c in invited}:
        raise Refusal(403, "not_invited", "贵单位不是本工程邀请的报价人")
    if found.status != "quoting" or moment >= datetime.fromisoformat(found.closes_at):
        raise Refusal(409, "closed", f"报价已于 {local(found.closes_at)} 截止，不再接受报价")
    banned = (await conn.execute(select(contractors.c.blacklisted).where(
        contractors.c.county == found.county, contractors.c.township == found.township, contractors.c.id == code,
    ))).scalar()  # fmt: skip
    if banned:
        raise Refusal(403, "blacklisted", "贵单位已被列入黑名单，不能报价")
    try:
        fen = parse_yuan(amount, DEFAULT_MAX_AMOUNT_FEN)
    except AmountError as exc:
        raise Refusal(400, "bad_amount", f"报价：{exc.message}") from None
    taken = await conn.execute(select(sealed.c.at).where(sealed.c.draw_id == draw_id, sealed.c.contractor == code))
    if taken.first() is not None:
        raise Refusal(409, "already", "贵单位已报价，每家只报一次")
    kept = seal_quote(round_key(master_key(decisions), draw_id), draw_id, code, fen)
    at = _iso(moment)
    entry = await decisions.decide(QUOTE, {"draw_id": draw_id, "contractor": code, "at": at, **kept},
                                   actor=f"supplier:{who.account}", conn=conn)  # fmt: skip
    await conn.execute(sealed.insert().values(draw_id=draw_id, contractor=code, at=at, decision_index=entry.index,
                                              **kept))  # fmt: skip


async def open_round(
    conn: AsyncConnection, decisions: Any, who: Principal, draw_id: str, observer: str, moment: datetime
) -> dict[str, Any] | None:
    """Open every quote together before the peer observer, after the window: the winner (None: 流标), sent down."""
    row = await _drawn(conn, who, draw_id, "开标")
    found = (await conn.execute(select(rounds).where(rounds.c.draw_id == draw_id).with_for_update())).first()
    if found is None:
        raise Refusal(409, "not_invited", "尚未发出报价邀请")
    if found.status != "quoting":
        raise Refusal(409, "opened", "本工程已开标")
    if moment < datetime.fromisoformat(found.closes_at):
        raise Refusal(409, "window_open", f"报价截止（{local(found.closes_at)}）前不能开标")
    witness = text(observer, "同行列席人（他村干部，姓名与村名）", 60, 2)
    invited = json.loads(found.invited)
    kept = (await conn.execute(select(sealed).where(sealed.c.draw_id == draw_id).order_by(sealed.c.at, sealed.c.decision_index))).all()  # fmt: skip
    key = round_key(master_key(decisions), draw_id)
    try:
        amounts = [(k.contractor, open_quote(key, draw_id, k.contractor, k)) for k in kept]
    except ValueError as exc:  # a kept quote altered since it was sealed: no opening over it
        raise Refusal(409, "tampered", f"{exc}，不能开标，请报告县级监管") from None
    banned = sorted((await conn.execute(select(contractors.c.id).where(
        contractors.c.county == row.county, contractors.c.township == row.township,
        contractors.c.id.in_([c["id"] for c in invited]), contractors.c.blacklisted.is_(True),
    ))).scalars().all())  # fmt: skip
    result = rules.opening(invited, amounts, banned, found.budget_fen)
    body = {
        "project_id": row.project_id, "draw_id": draw_id, "observer": witness, "winner": result["winner"],
        "opened_on": moment.astimezone(SHANGHAI).date().isoformat(), "closes_at": found.closes_at,
        "blacklisted": banned, "key": key.hex(), "hotline": found.hotline,
        "quotes": [{**q, "at": k.at, "digest": k.digest, "sealed_index": k.decision_index}
                   for q, k in zip(result["quotes"], kept, strict=True)],
    }  # fmt: skip
    await decisions.decide(OPENED, body, row.edge_id, actor=who.account or who.name, conn=conn)
    await conn.execute(rounds.update().where(rounds.c.draw_id == draw_id, rounds.c.status == "quoting").values(
        status="opened", result=json.dumps(body, ensure_ascii=False)))  # fmt: skip
    return body["winner"]


# -- reading ---------------------------------------------------------------------------------------------------


async def of_draws(conn: AsyncConnection, draw_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each round by its draw: its window, status, how many quotes are in, and (opened) its result."""
    if not draw_ids:
        return {}
    found = (await conn.execute(select(rounds).where(rounds.c.draw_id.in_(draw_ids)))).all()
    counts: dict[str, int] = {}
    for (draw_id,) in (await conn.execute(select(sealed.c.draw_id).where(sealed.c.draw_id.in_(draw_ids)))).all():
        counts[draw_id] = counts.get(draw_id, 0) + 1
    return {r.draw_id: {"closes": local(r.closes_at), "closes_at": r.closes_at, "status": r.status,
                        "count": counts.get(r.draw_id, 0), "invited": json.loads(r.invited),
                        "result": json.loads(r.result) if r.result else None} for r in found}  # fmt: skip


async def invitations(conn: AsyncConnection, who: Principal) -> list[dict[str, Any]]:
    """The rounds a supplier's contractor is invited to, newest first, with its own quote's time (never an
    amount before the opening: not even its own, which is sealed like the others)."""
    code = await credit_code_of(conn, who)
    if code is None:
        return []
    p = projects_.projects
    query = (select(rounds, draws.c.village, draws.c.project_id, p.c.name, p.c.place)
             .join(draws, draws.c.id == rounds.c.draw_id)
             .join(p, (p.c.edge_id == draws.c.edge_id) & (p.c.project_id == draws.c.project_id))
             .order_by(rounds.c.closes_at.desc()))  # fmt: skip
    mine = [r for r in (await conn.execute(query)).all() if code in {c["id"] for c in json.loads(r.invited)}]
    times = dict((await conn.execute(select(sealed.c.draw_id, sealed.c.at).where(sealed.c.contractor == code))).all())
    return [{"draw_id": r.draw_id, "village": r.village, "project_id": r.project_id, "name": r.name, "place": r.place,
             "budget_fen": r.budget_fen, "closes": local(r.closes_at), "status": r.status,
             "quoted_at": local(times[r.draw_id]) if r.draw_id in times else None,
             "result": json.loads(r.result) if r.result else None} for r in mine]  # fmt: skip
