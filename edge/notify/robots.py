"""Group robots and webhooks: DingTalk (钉钉) custom robot, WeCom (企业微信) group robot, generic JSON.

DingTalk's signed robots (加签): the request URL carries ``timestamp`` (ms) and
``sign`` = URL-encoded base64 of HMAC-SHA256 keyed with the robot's secret over
``"{timestamp}\\n{secret}"``; the robot refuses a signature more than an hour old.
Both robots answer HTTP 200 with ``{"errcode": 0}`` on success and a non-zero
``errcode`` otherwise.

The generic webhook POSTs the message as JSON; with a secret it adds
``X-Qinglian-Signature: sha256=<hex HMAC-SHA256 of the body>`` and
``X-Qinglian-Timestamp``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote_plus

import httpx

from edge.kernel.websettings import NotifyBackendConfig
from edge.notify.base import DeliveryError, Message

_TIMEOUT_S = 10.0


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value of DingTalk's signed custom robot (already URL-encoded)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _text(message: Message) -> str:
    return f"#### {message.title}\n\n{message.body}\n\n[打开申请 查看并审批]({message.url})"


class _HttpBackend:
    per_person = False

    def __init__(self, config: NotifyBackendConfig, client: httpx.AsyncClient | None = None) -> None:
        assert config.url is not None
        self.kind = config.kind
        self.name = config.name
        self.url = config.url
        self.secret = config.secret
        self._client = client or httpx.AsyncClient(timeout=_TIMEOUT_S, trust_env=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def _post(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            response = await self._client.post(url, content=content, headers={"Content-Type": "application/json; charset=utf-8", **headers})
        except httpx.HTTPError as exc:
            raise DeliveryError("连接失败", f"{type(exc).__name__}: {exc}") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise DeliveryError(f"推送服务返回错误码 {response.status_code}")
        if response.status_code >= 300:
            raise DeliveryError(f"推送服务返回错误码 {response.status_code}", permanent=response.status_code in (400, 401, 403, 404, 410))
        return response

    @staticmethod
    def _check_errcode(response: httpx.Response) -> None:
        try:
            data = response.json()
        except ValueError:
            raise DeliveryError("机器人应答格式错误", f"not JSON: {response.text[:200]!r}") from None
        if not isinstance(data, dict) or data.get("errcode") != 0:
            code = data.get("errcode") if isinstance(data, dict) else None
            msg = data.get("errmsg") if isinstance(data, dict) else data
            raise DeliveryError(f"机器人拒绝，错误码 {code}", f"errcode={code} {msg}"[:300])


class DingTalkRobot(_HttpBackend):
    """钉钉自定义机器人; with ``secret``, every request is signed (加签)."""

    async def deliver(self, message: Message, target: dict[str, Any]) -> None:
        url = self.url
        if self.secret:
            ts = int(time.time() * 1000)
            url = _with_query(url, f"timestamp={ts}&sign={dingtalk_sign(self.secret, ts)}")
        body = {"msgtype": "markdown", "markdown": {"title": message.title, "text": _text(message)}}
        response = await self._post(url, json.dumps(body, ensure_ascii=False).encode("utf-8"), {})
        self._check_errcode(response)


class WeComRobot(_HttpBackend):
    """企业微信群机器人 (the key is in the webhook URL)."""

    async def deliver(self, message: Message, target: dict[str, Any]) -> None:
        body = {"msgtype": "markdown", "markdown": {"content": _text(message)}}
        response = await self._post(self.url, json.dumps(body, ensure_ascii=False).encode("utf-8"), {})
        self._check_errcode(response)


class JsonWebhook(_HttpBackend):
    """Any receiver of a JSON POST; 2xx is success."""

    async def deliver(self, message: Message, target: dict[str, Any]) -> None:
        payload = {**message.to_dict(), "sent_at": int(time.time())}
        content = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        headers = {"X-Qinglian-Event": message.event}
        if self.secret:
            ts = str(int(time.time()))
            mac = hmac.new(self.secret.encode("utf-8"), ts.encode() + b"." + content, hashlib.sha256).hexdigest()
            headers["X-Qinglian-Timestamp"] = ts
            headers["X-Qinglian-Signature"] = f"sha256={mac}"
        await self._post(self.url, content, headers)
