"""``/m/small_project``: a township officer publishes the guide-price catalogue (a CSV) to the villages of the
township; officers and supervisors see the versions published in their scope."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from central.contract import NavItem
from central.decisions.routes import decision_log
from central.modules.small_project.catalogue import HEADER, MAX_BYTES, publish, published, read_csv

TEMPLATES = Path(__file__).parent / "templates"
READERS = ("county_officer", "township_officer", "admin", "supervisor")
NAV = (NavItem("/m/small_project", "限额工程", READERS),)
Text = Annotated[str, Form()]


def router(shell: Any) -> APIRouter:
    api = APIRouter()

    @api.get("/m/small_project", include_in_schema=False)
    async def page(request: Request) -> Response:
        who = await shell.supervising(request)
        async with shell.store.db.reader.connect() as conn:
            rows = await published(conn, who)
        return await shell.render(  # type: ignore[no-any-return]
            request, "small_project/catalogues.html", rows=rows, may_publish=who.level == "township" and who.role == "township_officer",
            header=",".join(HEADER),
        )  # fmt: skip

    @api.post("/m/small_project/catalogues", include_in_schema=False)
    async def publish_catalogue(
        request: Request, file: Annotated[UploadFile, File()], version: Text = "", effective: Text = "", csrf: Text = ""
    ) -> Response:
        who = await shell.require(request, "township_officer")
        await shell.check_csrf(request, csrf)
        body = read_csv(await file.read(MAX_BYTES + 1), version, effective)
        async with shell.store.db.writer.begin() as conn:
            await publish(conn, decision_log(shell), who, body, datetime.fromtimestamp(shell.clock(), UTC))
        return RedirectResponse("/m/small_project", 303)

    return api
