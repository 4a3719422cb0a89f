"""Reading what a village user typed into a purchase or a demand: every field checked, with a Chinese message.

The pages and the demo hand in text; what comes out is typed and bounded (integer fen within the village's
ceiling, integer quantities, dates that exist and are not in the future), so the desk and the rules never see
a hostile value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from edge.kernel.errors import InputError
from edge.kernel.fmt import AmountError, parse_yuan, yuan
from edge.kernel.text import line
from edge.modules.procurement.rules import CATEGORIES, CHANNEL_NAMES

MAX_LINES = 20
MAX_QUANTITY = 1_000_000
EARLIEST = date(2000, 1, 1)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def day(value: object, what: str, today: date, future: bool = False) -> date:
    """A date typed as YYYY-MM-DD; not in the future unless ``future``, and not before 2000."""
    raw = value.strip() if isinstance(value, str) else ""
    if not _DAY.fullmatch(raw):
        raise InputError(f"{what}应为 年-月-日，例如 {today.isoformat()}", "bad_date")
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{what}不存在：{raw}", "bad_date") from None
    if parsed < EARLIEST:
        raise InputError(f"{what}不能早于 {EARLIEST.isoformat()}", "bad_date")
    if not future and parsed > today:
        raise InputError(f"{what}不能晚于今天（{today.isoformat()}）", "bad_date")
    return parsed


def quantity(value: object, what: str, minimum: int = 1) -> int:
    """A whole quantity, ``minimum`` (1; a delivery may count 0) to a million."""
    raw = value.strip() if isinstance(value, str) else ""
    if not re.fullmatch(r"[0-9]{1,7}", raw, re.ASCII) or not minimum <= int(raw) <= MAX_QUANTITY:
        raise InputError(
            f"{what}应为 {minimum} 到 {MAX_QUANTITY:,} 之间的整数（小数请换用更小的单位，如 千克、米）", "bad_quantity"
        )
    return int(raw)


def category(value: object) -> str:
    if value not in CATEGORIES:
        raise InputError(f"请选择物品类别（{'、'.join(CATEGORIES)}）", "bad_category")
    return str(value)


def money(value: object, what: str, ceiling_fen: int) -> int:
    try:
        return parse_yuan(value if isinstance(value, str) else "", ceiling_fen)
    except AmountError as exc:
        raise InputError(f"{what}：{exc.message}", "bad_amount") from None


@dataclass(frozen=True)
class Line:
    name: str
    unit: str
    quantity: int
    unit_fen: int  # a purchase: the price paid; a demand: the ceiling unit price
    spec: str = ""

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_fen


def lines(rows: Sequence[Mapping[str, str]], ceiling_fen: int, price_what: str) -> tuple[Line, ...]:
    """Item lines from the form's rows (blank rows left out): name, unit, quantity, unit price, spec."""
    found = []
    for i, row in enumerate(rows, 1):
        if not any((row.get(k) or "").strip() for k in ("name", "quantity", "price", "unit", "spec")):
            continue
        where = f"第 {i} 行"
        found.append(Line(
            line(row.get("name"), f"{where}物品名称", 60), line(row.get("unit"), f"{where}单位", 10),
            quantity(row.get("quantity"), f"{where}数量"), money(row.get("price"), f"{where}{price_what}", ceiling_fen),
            line(row.get("spec"), f"{where}规格", 60, required=False),
        ))  # fmt: skip
    if not found:
        raise InputError("请至少填写一行物品（名称、单位、数量、单价）", "missing_lines")
    if len(found) > MAX_LINES:
        raise InputError(f"一次最多 {MAX_LINES} 行物品", "too_many_lines")
    total = sum(line.amount_fen for line in found)
    if total > ceiling_fen:
        raise InputError(f"合计 {yuan(total)} 超过本村金额上限 {yuan(ceiling_fen)}", "bad_amount")
    return tuple(found)


@dataclass(frozen=True)
class PurchaseDraft:
    """A purchase as typed, checked: what the rule reads and what the ledger records."""

    day: date
    category: str
    project: str
    supplier: str
    channel: str
    lines: tuple[Line, ...]
    invoice: Mapping[str, Any] | None = field(default=None, compare=False)  # {sha256, name, size} once stored

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def body(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "category": self.category, "project": self.project, "supplier": self.supplier,
            "channel": self.channel, "amount_fen": self.amount_fen, "invoice": dict(self.invoice) if self.invoice else None,
            "lines": [{"name": ln.name, "unit": ln.unit, "quantity": ln.quantity, "unit_fen": ln.unit_fen,
                       "amount_fen": ln.amount_fen} for ln in self.lines],
        }  # fmt: skip


def purchase(
    form: Mapping[str, Any], rows: Sequence[Mapping[str, str]], today: date, ceiling_fen: int
) -> PurchaseDraft:
    channel = form.get("channel")
    if channel not in CHANNEL_NAMES:
        raise InputError("请选择采购方式：平台采购或线下采购", "bad_channel")
    return PurchaseDraft(
        day(form.get("day"), "采购日期", today), category(form.get("category")),
        line(form.get("project"), "所属项目", 60, required=False), line(form.get("supplier"), "供应商", 80),
        str(channel), lines(rows, ceiling_fen, "单价"),
    )  # fmt: skip


@dataclass(frozen=True)
class DemandDraft:
    title: str
    category: str
    project: str
    lines: tuple[Line, ...]
    place: str
    delivery_date: date

    @property
    def ceiling_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    def body(self) -> dict[str, Any]:
        return {
            "title": self.title, "category": self.category, "project": self.project, "place": self.place,
            "delivery_date": self.delivery_date.isoformat(), "ceiling_fen": self.ceiling_fen,
            "lines": [{"name": ln.name, "spec": ln.spec, "unit": ln.unit, "quantity": ln.quantity,
                       "ceiling_unit_fen": ln.unit_fen} for ln in self.lines],
        }  # fmt: skip


def demand(form: Mapping[str, Any], rows: Sequence[Mapping[str, str]], today: date, ceiling_fen: int) -> DemandDraft:
    delivery = day(form.get("delivery_date"), "交货日期", today, future=True)
    if delivery <= today:
        raise InputError("交货日期应晚于今天：招标需要时间", "bad_date")
    return DemandDraft(
        line(form.get("title"), "需求名称", 60), category(form.get("category")),
        line(form.get("project"), "所属项目", 60, required=False), lines(rows, ceiling_fen, "最高限价"),
        line(form.get("place"), "交货地点", 100), delivery,
    )  # fmt: skip
