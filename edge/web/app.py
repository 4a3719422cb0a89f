"""The console's FastAPI application: the shell's routers and every registered part's, on one session.

Pages (Jinja2, Chinese, usable on a 360-px phone; every asset from ``/static``): the shell serves
``/login``, ``/logout``, ``/account`` (password, phone push), ``/inbox`` (待审批 across every part),
``/ledger`` and ``/ledger.csv`` (supervisor), ``/exports/{part}/{list}.csv|.xlsx`` (each part's lists),
``/admin/users``, and with no login the village notice board ``/board`` (村务公开, edge/web/board.py); each
registered part serves its own pages (the seal: ``/requests``, ``/devices``, ``/search``, edge/seal/web/router.py).

The JSON API (described at ``/openapi.json``, browsable at ``/api/docs``) uses the
same session cookie; every state-changing call needs the session's CSRF token
in ``X-CSRF-Token`` (forms send it as ``csrf_token``). Nothing is ever reachable
by a bare link: a push opens the request page, which asks for a login.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from edge.web import admin, auth, board, errors, exports, inbox, ledger
from edge.web.ledgerview import LedgerReader
from edge.web.middleware import FORM_OVERHEAD, GuardMiddleware
from edge.web.service import Console
from edge.web.shell import HERE, Shell


def create_app(console: Console, reader: LedgerReader) -> FastAPI:
    """The console of the parts the agent was opened with (``edge.modules.PARTS``; a test adds its own): the
    pages of exactly the parts whose tables and handlers the working database has."""
    parts = console.agent.db.parts.registered
    app = FastAPI(
        title="清廉 边缘控制台 API",
        version="1",
        description="The JSON API of the edge's web console: seal requests, approvals, devices, the ledger, push. "
        "Log in with POST /api/login (a session cookie); send the returned csrf_token as X-CSRF-Token on every change.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.add_middleware(GuardMiddleware, max_body=console.settings.max_upload_bytes + FORM_OVERHEAD)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    shell = Shell(console, reader, parts)
    errors.install(app, shell)
    for router in (auth.router, inbox.router, ledger.router, exports.router, admin.router, board.router):
        app.include_router(router(shell))
    for part in parts:
        if part.router is not None:
            app.include_router(part.router(shell))

    @app.get("/manifest.webmanifest", include_in_schema=False)
    async def manifest() -> Response:
        return FileResponse(HERE / "static" / "manifest.webmanifest", media_type="application/manifest+json", headers={"Cache-Control": "max-age=3600"})

    @app.get("/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        return FileResponse(HERE / "static" / "sw.js", media_type="text/javascript", headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})

    return app
