"""Security headers on every response of the console, and the cap on request bodies."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORM_OVERHEAD = 256 * 1024  # multipart boundaries and the other fields of the upload form

CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "object-src 'self'; frame-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'self'"
)


class GuardMiddleware:
    """Security headers on every response, and a cap on request bodies (checked as they stream in)."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large(scope, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge()
            return message

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"SAMEORIGIN"),
                ]
                names = {k.lower() for k, _ in message.get("headers", [])}
                if b"content-security-policy" not in names:
                    extra.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited, with_headers)
        except BodyTooLarge:
            await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        mb = (self.max_body - FORM_OVERHEAD) // (1024 * 1024)
        text = f"上传内容过大：原件最多 {mb} MB。"
        if scope["path"].startswith("/api/"):
            body = json.dumps({"ok": False, "error": {"code": "file_too_large", "message": text, "type": "InputError"}}, ensure_ascii=False).encode()
            ctype = b"application/json"
        else:
            body = f"<!doctype html><meta charset=utf-8><title>上传过大</title><p>{text}<p><a href=/requests/new>返回</a>".encode()
            ctype = b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    pass
