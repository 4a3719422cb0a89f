"""Hard limits on what one request can make the central store hold: body size and JSON nesting.

Every request body passes :class:`CappedBodies`, which counts the bytes as the
app pulls them and stops at the cap of the request's path, so nothing, FastAPI's
own form and JSON parsing included, ever buffers more than the cap; a body
declared larger than the cap (``Content-Length``) is refused before its first
byte is read. A route that never reads its body is never refused for it.

JSON from an edge may nest :data:`MAX_JSON_DEPTH` levels. Python's parser
recurses once per level: a 50,000-deep array runs it out of stack (a
``RecursionError``, which was a 500), and one just shallow enough to parse would
do the same to the code that walks the entries next. Both are refused with the
same clear 400. (Scanning the text for brackets before parsing was tried: the
regular expressions that skip strings cost seconds on a large batch full of
escapes, more than the parse itself.)
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.store import Refusal
from edge.ledger.wire import API_PREFIX

#: A push carries at most 10,000 entries (``MAX_BATCH_ENTRIES``); 64 MB leaves room for long OCR texts.
MAX_SYNC_BODY = 64 * 1024 * 1024
#: Every other body (the login form, a proof to check) is small.
MAX_OTHER_BODY = 1024 * 1024
#: A supplier's or bank's application carries its licence scan (central/accounts/store.py: MAX_LICENCE_BYTES).
MAX_REGISTER_BODY = 3 * 1024 * 1024
#: Nesting a batch may have: batch, entries, entry, body is 4; an entry body nests a few levels more.
MAX_JSON_DEPTH = 128


def body_cap(path: str) -> int:
    if path.startswith(API_PREFIX + "/"):
        return MAX_SYNC_BODY
    return MAX_REGISTER_BODY if path == "/register" else MAX_OTHER_BODY


class BodyTooLarge(HTTPException):
    """A body over its cap. An :class:`HTTPException`, because FastAPI passes those on from its own body
    parsing, where any other exception would become a 400 "error parsing the body"."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, headers={"Connection": "close"})
        self.refusal = Refusal(
            413, "too_large", f"请求体过大, 上限 {cap} 字节 request body larger than {cap} bytes; send less at a time"
        )


class CappedBodies:
    """ASGI middleware: each request's ``receive`` stops with :class:`BodyTooLarge` at the path's cap.

    The 413 carries ``Connection: close``, so the server drops the rest of the upload instead of reading
    it to the end to reuse the connection.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = body_cap(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"")
        over = declared.isdigit() and int(declared) > cap
        seen = 0

        async def capped_receive() -> Message:
            nonlocal seen
            if over:
                raise BodyTooLarge(cap)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, capped_receive, send)


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests arrays and objects deeper than ``limit``. Level by level in a loop: a
    recursive walk would meet the very recursion limit it guards against, and only containers are kept,
    so a long flat list costs nothing more than the parse did."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, (dict, list))
        ]
    return False


def load_edge_json(body: bytes) -> Any:
    """Parse a body an edge sent; :class:`Refusal` (400) if it is not JSON or nests deeper than allowed."""
    too_deep = Refusal(
        400, "too_deep", f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层 the JSON nests deeper than {MAX_JSON_DEPTH} levels"
    )
    try:
        value = json.loads(body)
    except RecursionError:  # the parser's own stack ran out, far past the limit
        raise too_deep from None
    except (ValueError, UnicodeDecodeError):
        raise Refusal(400, "malformed", "批次不是有效的 JSON the batch is not valid JSON") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise too_deep
    return value
