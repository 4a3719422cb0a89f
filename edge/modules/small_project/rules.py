"""The decisions of small projects (限额工程), as pure functions: no I/O, exact decimals, integer fen.

The console, the CLI that re-runs a published draw (``qinglian projects draw`` / ``verify-draw``), the central
half and the tests all call these, so there is one reading of each rule:

- pricing (:func:`price_bill`): each line of a bill of quantities is quantity × unit price, to the fen, half up;
  a line's unit price is the catalogue's guide price unless it says otherwise, and a line priced above its guide
  price needs a written reason and is flagged (公示 shows the flag). The catalogue's version is recorded with
  the budget. The total must be strictly below the configured limit (限额以下: 399,999.99 passes a 400,000.00
  limit, 400,000.00 does not);
- the draw (:func:`draw`), in the way RFC 3797 describes, documented step by step in README.md so anyone can
  re-run it: the pool's SHA-256 over canonical JSON, the eligible contractors in id order, the seed from
  several published sources, two contractors by rejection sampling (no modulo bias);
- the quotes (:func:`winner`): the lowest valid quote wins; a quote is valid when it is from an invited
  contractor who is not blacklisted, within the budget; a tie goes to the quote submitted first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from edge.kernel.fmt import FEN_PER_YUAN
from edge.ledger import canonical_json

DEFAULT_LIMIT_FEN = 400_000 * FEN_PER_YUAN  # 40 万元: the county's tender limit, strictly below it
DRAWN = 2  # the township draws two; the village recommends the third
SEED_BYTES = (16, 64)  # a seed of 128 to 512 bits
REASON_MIN = 4  # a written reason is a sentence, not a letter

# A quantity as people write it: at most 3 decimals (0.125 立方米), ASCII digits only; never a float.
_QUANTITY = re.compile(r"[0-9]{1,9}(?:\.[0-9]{1,3})?", re.ASCII)
_HEX = re.compile(r"(?:[0-9a-f]{2})+", re.ASCII)


class RuleError(ValueError):
    """An input a rule cannot take; ``message`` says why, in Chinese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- the catalogue and the bill of quantities ----------------------------------------------------------------


@dataclass(frozen=True)
class GuideItem:
    """One item of the township's guide-price catalogue (指导价目录)."""

    code: str
    name: str
    unit: str
    price_fen: int  # the guide unit price


@dataclass(frozen=True)
class Catalogue:
    version: str
    effective: str  # YYYY-MM-DD, from when the township's prices hold
    items: Mapping[str, GuideItem]  # code -> item


@dataclass(frozen=True)
class BillLine:
    """A line as the village enters it: the catalogue item, the quantity, and optionally its own unit price."""

    code: str
    quantity: str  # decimal text, at most three decimals
    price_fen: int | None = None  # None: the guide price
    reason: str = ""  # required when price_fen is above the guide price


@dataclass(frozen=True)
class PricedLine:
    code: str
    name: str
    unit: str
    quantity: str
    guide_fen: int
    price_fen: int
    amount_fen: int
    above_guide: bool
    reason: str


@dataclass(frozen=True)
class Budget:
    catalogue_version: str
    lines: tuple[PricedLine, ...]
    total_fen: int

    @property
    def flagged(self) -> tuple[PricedLine, ...]:
        return tuple(line for line in self.lines if line.above_guide)


MAX_ITEMS = 5_000  # items of one catalogue
MAX_PRICE_FEN = 10**8 * FEN_PER_YUAN  # no unit price of a village work reaches 1 亿元
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _label(value: object, what: str, longest: int = 100) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise RuleError(f"{what}应为非空文字（最多 {longest} 字）")
    return value.strip()


def parse_catalogue(body: Mapping[str, object]) -> Catalogue:
    """A catalogue as the township's document carries it: ``{"version", "effective": "YYYY-MM-DD", "items":
    [{"code", "name", "unit", "price_fen"}]}``; every item checked, codes unique."""
    version = _label(body.get("version"), "目录版本", 40)
    effective = body.get("effective")
    if not isinstance(effective, str) or _DATE.fullmatch(effective) is None:
        raise RuleError("目录生效日期应为 年-月-日 的日期，例如 2026-03-15")
    raw = body.get("items")
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_ITEMS:
        raise RuleError(f"目录条目应为 1 到 {MAX_ITEMS} 项的列表")
    items: dict[str, GuideItem] = {}
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise RuleError(f"目录第 {n} 项应为对象")
        code = _label(item.get("code"), f"目录第 {n} 项的编号", 40)
        price = item.get("price_fen")
        if type(price) is not int or not 0 < price <= MAX_PRICE_FEN:
            raise RuleError(f"目录第 {n} 项（{code}）的单价应为大于 0 的整数分")
        if code in items:
            raise RuleError(f"目录第 {n} 项：编号 {code} 重复")
        items[code] = GuideItem(
            code,
            _label(item.get("name"), f"目录第 {n} 项的名称"),
            _label(item.get("unit"), f"目录第 {n} 项的单位", 20),
            price,
        )
    return Catalogue(version, effective, items)


def catalogue_body(catalogue: Catalogue) -> dict[str, object]:
    """The inverse of :func:`parse_catalogue`: what the township's document carries."""
    items = [
        {"code": i.code, "name": i.name, "unit": i.unit, "price_fen": i.price_fen} for i in catalogue.items.values()
    ]
    return {"version": catalogue.version, "effective": catalogue.effective, "items": items}


def line_body(line: PricedLine) -> dict[str, object]:
    return {
        "code": line.code,
        "name": line.name,
        "unit": line.unit,
        "quantity": line.quantity,
        "guide_fen": line.guide_fen,
        "price_fen": line.price_fen,
        "amount_fen": line.amount_fen,
        "above_guide": line.above_guide,
        "reason": line.reason,
    }


def parse_quantity(text: object) -> Decimal:
    if not isinstance(text, str) or _QUANTITY.fullmatch(text.strip()) is None:
        raise RuleError(f"工程量应为数字，最多三位小数，例如 12.5：{text!r:.40}")
    quantity = Decimal(text.strip())
    if quantity <= 0:
        raise RuleError("工程量应大于 0")
    return quantity


def line_amount(quantity: Decimal, price_fen: int) -> int:
    """Quantity × unit price in fen, to the fen, half up (12.345 m³ × ¥100.01 = ¥1,234.62)."""
    return int((quantity * price_fen).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def price_bill(catalogue: Catalogue, lines: Sequence[BillLine], limit_fen: int = DEFAULT_LIMIT_FEN) -> Budget:
    """Price a bill of quantities line by line from ``catalogue``; the total must be below ``limit_fen``."""
    if not lines:
        raise RuleError("工程量清单至少一行")
    priced: list[PricedLine] = []
    for n, line in enumerate(lines, 1):
        item = catalogue.items.get(line.code)
        if item is None:
            raise RuleError(f"第 {n} 行：指导价目录（{catalogue.version} 版）中没有编号 {line.code!r:.40}")
        if any(p.code == line.code for p in priced):
            raise RuleError(f"第 {n} 行：编号 {line.code} 重复，请合并为一行")
        try:
            quantity = parse_quantity(line.quantity)
        except RuleError as exc:
            raise RuleError(f"第 {n} 行：{exc.message}") from None
        price = item.price_fen if line.price_fen is None else line.price_fen
        if type(price) is not int or price <= 0:
            raise RuleError(f"第 {n} 行：单价应为大于 0 的整数分")
        above = price > item.price_fen
        reason = line.reason.strip()
        if above and len(reason) < REASON_MIN:
            raise RuleError(f"第 {n} 行（{item.name}）：单价高于指导价 {yuan_text(item.price_fen)} 元，须写明理由")
        amount = line_amount(quantity, price)
        priced.append(PricedLine(item.code, item.name, item.unit, str(quantity), item.price_fen, price, amount, above,
                                 reason if above else ""))  # fmt: skip
    total = sum(p.amount_fen for p in priced)
    if total >= limit_fen:
        raise RuleError(f"预算合计 {yuan_text(total)} 元，须低于限额 {yuan_text(limit_fen)} 元（达到限额的须招标）")
    return Budget(catalogue.version, tuple(priced), total)


def yuan_text(fen: int) -> str:
    """Integer fen as a budget line reads: ``1,234.62``."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{part:02d}"


# -- the township's steps ------------------------------------------------------------------------------------


def township_refusal(approvers: Sequence[str], done: Sequence[str], who: str) -> str | None:
    """Why ``who`` may not take the next township step of a project (None: it is theirs). The township's
    approvers act in the order the category's route names them, each once, after the village's approval."""
    if who not in approvers:
        return "您不在本工程类别的乡镇审批路线上"
    if who in done:
        return "您已审批过本工程"
    upcoming = approvers[len(done)]  # who is on the route and not done: some step is left
    if upcoming != who:
        return f"顺序审批，应由 {upcoming} 先审批"
    return None


# -- the draw ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contractor:
    """A contractor of the township's pool, as the draw reads it (the fields of POOL.json)."""

    id: str
    name: str
    categories: tuple[str, ...]
    blacklisted: bool = False

    def snapshot(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "categories": sorted(set(self.categories)),
            "blacklisted": self.blacklisted,
        }


@dataclass(frozen=True)
class Draw:
    pool_hash: str  # hex SHA-256 of the pool's canonical JSON
    seed: str  # hex
    eligible: tuple[str, ...]  # ids in the order the draw indexes them
    drawn: tuple[str, ...]


def pool_hash(pool: Iterable[Contractor]) -> str:
    """SHA-256 (hex) of the pool's canonical JSON: ``{"pool": [each contractor's snapshot, in id order]}``;
    categories sorted and unique, keys sorted, no spaces, UTF-8 (the ledger's canonical JSON). The order of a
    file's entries does not change it; any change to a contractor does."""
    items = [c.snapshot() for c in sorted(pool, key=lambda c: c.id)]
    return hashlib.sha256(canonical_json({"pool": items}).encode("utf-8")).hexdigest()


def combine_seed(sources: Sequence[str]) -> str:
    """The seed (hex) from published sources, in their published order: SHA-256 over the canonical JSON
    ``{"sources": [...]}``. Each source is text fixed before the draw (a commit-reveal value of the village, of
    the township, the central log's next checkpoint root); no one of them alone decides the hash."""
    if len(sources) < 2 or any(not isinstance(s, str) or not s.strip() for s in sources):
        raise RuleError("随机种子至少来自两个公开的来源，每个来源为非空文字")
    return hashlib.sha256(canonical_json({"sources": list(sources)}).encode("utf-8")).hexdigest()


VALUE_MIN, VALUE_MAX = 8, 200  # a party's value: a phrase or dice digits, kept to itself until the reveal


def commitment_of(value: str) -> str:
    """What a party publishes for its value before the draw: SHA-256 (hex) of its UTF-8 bytes."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def parse_seed(text: object) -> bytes:
    low, high = SEED_BYTES
    if not isinstance(text, str) or _HEX.fullmatch(text.strip().lower()) is None:
        raise RuleError(f"种子应为十六进制文字（偶数位）：{text!r:.40}")
    seed = bytes.fromhex(text.strip())
    if not low <= len(seed) <= high:
        raise RuleError(f"种子应为 {low} 到 {high} 字节（{low * 2} 到 {high * 2} 位十六进制）")
    return seed


def eligible(pool: Sequence[Contractor], recommended: str, category: str | None) -> tuple[str, ...]:
    """The ids that may be drawn, in id order (Unicode code points): qualified for the category (any, without
    one), not blacklisted, not the village's recommended contractor."""
    ids = [c.id for c in pool]
    if len(set(ids)) != len(ids):
        raise RuleError("库中承包商编号重复")
    if recommended not in ids:
        raise RuleError(f"村推荐的承包商 {recommended!r:.40} 不在库中")
    return tuple(sorted(c.id for c in pool if c.id != recommended and not c.blacklisted
                        and (category is None or category in c.categories)))  # fmt: skip


def _blocks(seed: bytes) -> Iterator[int]:
    """SHA-256(seed ‖ counter as 8 bytes big-endian), counter 0, 1, 2, ..., each read as a 256-bit integer."""
    counter = 0
    while True:
        yield int.from_bytes(hashlib.sha256(seed + counter.to_bytes(8, "big")).digest(), "big")
        counter += 1


def uniform_index(n: int, blocks: Iterator[int], space: int = 2**256) -> int:
    """An index in [0, n) from blocks uniform in [0, space), by rejection: a block at or above the largest
    multiple of n below ``space`` is skipped, so every index is exactly equally likely (no modulo bias)."""
    if not 0 < n <= space:
        raise RuleError("无可抽取的对象")
    limit = space - space % n
    for block in blocks:
        if block < limit:
            return block % n
    raise RuleError("随机块已用尽")  # the block stream is endless; a finite one in a test ends here


def draw(pool: Sequence[Contractor], recommended: str, seed_hex: str, category: str | None = None) -> Draw:
    """Draw two contractors from ``pool`` with the seed: index i = uniform_index(remaining) over the eligible
    ids in id order, take that id out, repeat; the blocks run on from one pick to the next."""
    seed = parse_seed(seed_hex)
    candidates = list(eligible(pool, recommended, category))
    if len(candidates) < DRAWN:
        raise RuleError(f"符合条件的承包商只有 {len(candidates)} 家，不足 {DRAWN} 家，无法抽取")
    order = tuple(candidates)
    blocks = _blocks(seed)
    drawn = tuple(candidates.pop(uniform_index(len(candidates), blocks)) for _ in range(DRAWN))
    return Draw(pool_hash(pool), seed.hex(), order, drawn)


CHECKS = 2  # "121": two random township checks of each project
MAX_CHECK_DAYS = 366


def draw_checks(inspectors: Sequence[str], days: Sequence[str], seed_hex: str) -> list[tuple[str, str]]:
    """The two township checks (双随机: who inspects, and when), drawn the way the contractors are: the days in
    order (ISO dates sort as days), two of them by :func:`uniform_index` over the seed's blocks, then for each
    day in turn an inspector over the inspectors in code-point order, without one twice while two or more are
    left. Returns ``[(inspector, day), (inspector, day)]`` in day order."""
    seed = parse_seed(seed_hex)
    people, dates = sorted(set(inspectors)), sorted(set(days))
    if not people or len(dates) < CHECKS or len(dates) > MAX_CHECK_DAYS:
        raise RuleError(f"随机检查须有检查人，且检查日期在 {CHECKS} 到 {MAX_CHECK_DAYS} 天之间")
    blocks = _blocks(seed)
    picked = sorted(dates.pop(uniform_index(len(dates), blocks)) for _ in range(CHECKS))
    checks = []
    for day in picked:
        who = people[uniform_index(len(people), blocks)]
        if len(people) > 1:
            people.remove(who)
        checks.append((who, day))
    return checks


MAX_POOL = 10_000


def parse_pool(raw: object) -> list[Contractor]:
    """A pool as POOL.json (and a draw's record) carries it: ``[{"id", "name", "categories": [...], "blacklisted"}]``."""
    if not isinstance(raw, list) or len(raw) > MAX_POOL:
        raise RuleError(f"承包商库应为列表（最多 {MAX_POOL} 家）")
    pool: list[Contractor] = []
    for i, item in enumerate(raw):
        where = f"pool[{i}]"
        if not isinstance(item, dict):
            raise RuleError(f"{where}：应为对象 {{id, name, categories, blacklisted}}")
        categories = item.get("categories")
        if not isinstance(categories, list) or not all(
            isinstance(c, str) and c.strip() and len(c) <= 100 for c in categories
        ):
            raise RuleError(f"{where}：categories 应为文字列表")
        blacklisted = item.get("blacklisted", False)
        if type(blacklisted) is not bool:
            raise RuleError(f"{where}：blacklisted 应为 true 或 false")
        ident, name = (_label(item.get(k), f"{where}：{k} ") for k in ("id", "name"))
        pool.append(Contractor(ident, name, tuple(c.strip() for c in categories), blacklisted))
    return pool


def verify_draw(record: Mapping[str, object]) -> tuple[Draw, list[str]]:
    """Re-run a published draw ``{"pool", "recommended", "seed", "category"?, "seed_sources"?, "pool_hash",
    "drawn"}``: the recomputed draw and what differs from the record (empty: it matches)."""
    recommended, seed, category, sources = (record.get(k) for k in ("recommended", "seed", "category", "seed_sources"))
    if (
        not isinstance(recommended, str)
        or not isinstance(seed, str)
        or not (category is None or isinstance(category, str))
    ):
        raise RuleError("recommended、seed 应为文字，category 为文字或省略")
    if sources is not None and (not isinstance(sources, list) or not all(isinstance(x, str) for x in sources)):
        raise RuleError("seed_sources 应为文字列表")
    result = draw(parse_pool(record.get("pool")), recommended, seed, category)
    problems: list[str] = []
    if sources is not None and combine_seed(sources) != result.seed:
        problems.append(f"种子与公布的来源不符：按来源合成应为 {combine_seed(sources)}")
    if record.get("pool_hash") != result.pool_hash:
        problems.append(f"库哈希不符：重新计算为 {result.pool_hash}")
    if record.get("drawn") != list(result.drawn):
        problems.append(f"抽取结果不符：重新抽取为 {'、'.join(result.drawn)}")
    return result, problems


# -- the quotes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    contractor: str
    amount_fen: int
    order: int  # its place in time among the project's quotes (the ledger's order)


def invalid_reason(quote: Quote, invited: Sequence[str], blacklisted: Iterable[str], budget_fen: int) -> str | None:
    """Why a quote is not valid, in Chinese, or None when it is."""
    if quote.contractor not in invited:
        return "不是本项目邀请的报价人"
    if quote.contractor in set(blacklisted):
        return "报价人已被列入黑名单"
    if type(quote.amount_fen) is not int or quote.amount_fen <= 0:
        return "报价应为大于 0 的金额"
    if quote.amount_fen > budget_fen:
        return f"报价超过预算 {yuan_text(budget_fen)} 元"
    return None


def winner(
    quotes: Sequence[Quote], invited: Sequence[str], blacklisted: Iterable[str], budget_fen: int
) -> Quote | None:
    """The lowest valid quote; a tie goes to the one submitted first (the lower ``order``). None: no valid quote."""
    banned = set(blacklisted)
    valid = [q for q in quotes if invalid_reason(q, invited, banned, budget_fen) is None]
    return min(valid, key=lambda q: (q.amount_fen, q.order)) if valid else None


def opening(
    invited: Sequence[Mapping[str, str]], amounts: Sequence[tuple[str, int]], blacklisted: Iterable[str], budget_fen: int
) -> dict[str, Any]:
    """The opening of the quotes in the order they came in (``amounts``: contractor id, fen) over the invited
    contractors (``{"id", "name"}``, in their order): each quote with why it is invalid (None: valid), and the
    winner ``{"id", "name", "amount_fen"}`` or None (流标). The township computes it; the village re-checks it."""
    ids, names, banned = [c["id"] for c in invited], {c["id"]: c["name"] for c in invited}, set(blacklisted)
    quotes = [Quote(contractor, fen, n) for n, (contractor, fen) in enumerate(amounts)]
    best = winner(quotes, ids, banned, budget_fen)
    return {
        "quotes": [{"contractor": q.contractor, "name": names.get(q.contractor, ""), "amount_fen": q.amount_fen,
                    "invalid": invalid_reason(q, ids, banned, budget_fen)} for q in quotes],
        "winner": {"id": best.contractor, "name": names[best.contractor], "amount_fen": best.amount_fen} if best else None,
    }  # fmt: skip


def settlement_difference(budget_fen: int, contract_fen: int, settled_fen: int) -> dict[str, int]:
    """Settlement against the budget and the contract: the saving (positive) or overrun (negative) of each."""
    return {"vs_budget_fen": budget_fen - settled_fen, "vs_contract_fen": contract_fen - settled_fen}
