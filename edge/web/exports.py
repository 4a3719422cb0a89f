"""Each part's lists for 公示 (``Part.exports``), downloaded by logged-in staff as CSV or XLSX.

``/exports/{part}/{name}.csv`` and ``.xlsx``: the rows of this edge's village, in the columns the part
declares, through the shell's one export helper (the same as the notice board's).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edge.kernel.errors import NotFound, Refused
from edge.kernel.exports import FORMATS
from edge.web.shell import Shell


def router(shell: Shell) -> APIRouter:
    api = APIRouter()

    @api.get("/exports/{part_name}/{name}.{ext}", include_in_schema=False)
    async def export(request: Request, part_name: str, name: str, ext: str) -> Response:
        p = await shell.principal_of(request)
        if not p.roles:
            raise Refused("您的账号不属于本村，不能下载本村的清单", "forbidden")
        found = [e for p in shell.parts if p.name == part_name for e in p.exports if e.name == name]
        if not found or ext not in FORMATS:
            raise NotFound("没有此清单")
        listed = found[0]
        rows = await shell.console.village_list(listed.rows)
        return shell.export(f"qinglian-{part_name}-{name}", listed.title, listed.columns, rows, ext)

    return api
