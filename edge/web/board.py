"""The village notice board (村务公开): ``/board`` on a village's edge, read-only, no login.

Lists what every registered part publishes (``Part.publishes``), each list downloadable as CSV (UTF-8 with
BOM) and XLSX at ``/board/{part}/{number}.csv|.xlsx``. The page takes no session: it never reads the
session cookie, so a visitor leaves no session row and a logged-in one keeps their flash message; it is
cacheable by anyone (the same for every visitor).

Nothing personal ever appears: each part publishes counts and matters, never names, documents or photos;
and every cell passes through :func:`public_cell`, which masks what looks like a phone or an ID number
(a run of 7 or more digits, a mobile number written with separators) or an e-mail address, in case one was
typed into a matter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edge.kernel.contract import Part, Published
from edge.kernel.errors import NotFound
from edge.kernel.exports import FORMATS
from edge.web.shell import Shell

CACHE = "public, max-age=300"
MASK = "＊＊＊"
# A run of 7+ digits (mobile 11, ID 15/18 with its X, bank card, landline), a mobile written 138-1234-5678,
# an e-mail address.
PERSONAL = re.compile(r"\d{7,}[Xx]?|(?<!\d)1[3-9]\d[\s-]\d{4}[\s-]\d{4}(?!\d)|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LARGEST_SHOWN_NUMBER = 999_999  # a count on the board; a bigger integer may be a phone or ID number


def public_cell(value: Any) -> Any:
    """A cell as the public may see it: small integers as they are, everything else as text with numbers masked."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= LARGEST_SHOWN_NUMBER:
        return value
    return PERSONAL.sub(MASK, "" if value is None else str(value))


@dataclass(frozen=True)
class BoardList:
    """One published list as the board shows it: where it comes from, its masked rows."""

    part: str
    part_title: str
    number: int  # its place among the part's lists: the download URL
    title: str
    at: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    link: str | None


def public(part: Part, number: int, item: Published) -> BoardList:
    rows = tuple(tuple(public_cell(c) for c in row) for row in item.rows)
    return BoardList(part.name, part.title, number, public_cell(item.title), item.at, tuple(map(public_cell, item.columns)), rows, item.link)


def router(shell: Shell) -> APIRouter:
    api = APIRouter()

    async def lists_of(part: Part) -> list[BoardList]:
        published = await shell.console.village_list(part.publishes) if part.publishes is not None else []
        return [public(part, n, item) for n, item in enumerate(published, 1)]

    @api.get("/board", include_in_schema=False)
    async def board(request: Request) -> Response:
        lists = [item for part in shell.parts for item in await lists_of(part)]
        context = {"village": shell.console.config.village, "lists": lists}
        return shell.templates.TemplateResponse(request, "board.html", context, headers={"Cache-Control": CACHE})

    @api.get("/board/{part_name}/{number:int}.{ext}", include_in_schema=False)
    async def board_download(part_name: str, number: int, ext: str) -> Response:
        part = next((p for p in shell.parts if p.name == part_name), None)
        lists = await lists_of(part) if part is not None else []
        if ext not in FORMATS or not 1 <= number <= len(lists):
            raise NotFound("没有此公开事项")
        item = lists[number - 1]
        return shell.export(f"qinglian-board-{part_name}-{number}", f"{shell.console.config.village}-{item.title}", item.columns, item.rows, ext, cache=CACHE)

    return api
