"""What the county sees of the deals: every award against its ceiling, and the savings per village, township and
category — pure sums over the rows, in integer fen; the share saved in tenths of a percent, rounded down."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Deal:
    village: str
    township: str
    category: str
    ceiling_fen: int
    award_fen: int


@dataclass(frozen=True)
class Savings:
    key: str
    deals: int
    ceiling_fen: int
    award_fen: int

    @property
    def saved_fen(self) -> int:
        return self.ceiling_fen - self.award_fen

    @property
    def share(self) -> str:
        """The share of the ceiling saved, e.g. ``10.5%`` (rounded down to a tenth of a percent)."""
        tenths = self.saved_fen * 1000 // self.ceiling_fen if self.ceiling_fen else 0
        return f"{tenths // 10}.{tenths % 10}%"


def savings(deals: Iterable[Deal], key: Callable[[Deal], str]) -> list[Savings]:
    """The deals summed per ``key`` (village, township, category), by key."""
    sums: dict[str, tuple[int, int, int]] = {}
    for d in deals:
        n, ceiling, award = sums.get(key(d), (0, 0, 0))
        sums[key(d)] = (n + 1, ceiling + d.ceiling_fen, award + d.award_fen)
    return [Savings(k, *v) for k, v in sorted(sums.items())]


def total(deals: Sequence[Deal]) -> Savings:
    return savings(deals, lambda d: "合计")[0] if deals else Savings("合计", 0, 0, 0)
