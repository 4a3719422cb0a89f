"""Web Push to approvers' phones: RFC 8291 (aes128gcm) encryption and RFC 8292 VAPID, through pywebpush.

The VAPID key pair (ECDSA P-256) is made on first start and kept in
``data_dir/secrets/vapid_private.pem`` (mode 0600); browsers subscribe with its
public key, so replacing the file silently breaks every subscription. A
subscription the push service reports gone (404/410) is dropped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid  # type: ignore[import-untyped, unused-ignore]
from pywebpush import WebPushException, webpush  # type: ignore[import-untyped, unused-ignore]

from edge.kernel.websettings import NotifyBackendConfig
from edge.ledger.private import open_private, private_dir
from edge.notify.base import DeliveryError, Message
from edge.web.store import WebStore

VAPID_FILE = "vapid_private.pem"
_TIMEOUT_S = 10.0
_TTL_S = 86400  # a push for an approval is still worth delivering a day later


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class VapidKeys:
    def __init__(self, path: Path) -> None:
        self.path = path
        pem = path.read_bytes()
        self.vapid = Vapid.from_pem(pem)
        key = serialization.load_pem_private_key(pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.public_key_b64 = b64url(point)  # the browser's applicationServerKey

    @classmethod
    def load_or_create(cls, data_dir: Path) -> VapidKeys:
        folder = data_dir / "secrets"
        path = folder / VAPID_FILE
        if not path.exists():
            private_dir(folder)
            key = ec.generate_private_key(ec.SECP256R1())
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            tmp = path.with_suffix(".tmp")
            with open_private(tmp) as f:
                f.write(pem)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        return cls(path)


class WebPushBackend:
    kind = "webpush"
    per_person = True

    def __init__(self, config: NotifyBackendConfig, keys: VapidKeys, store: WebStore) -> None:
        self.name = config.name
        self.subject = config.subject
        self.keys = keys
        self.store = store

    async def close(self) -> None:
        pass

    async def deliver(self, message: Message, target: dict[str, Any]) -> None:
        subscription = await self.store.subscription(int(target["subscription_id"]))
        if subscription is None:
            raise DeliveryError("订阅已取消", "the subscription was removed", permanent=True)
        payload = json.dumps(
            {"title": message.title, "body": message.body, "url": message.url, "tag": message.request_id or message.event},
            ensure_ascii=False,
        )

        def send() -> None:
            webpush(
                subscription.info(), data=payload, vapid_private_key=self.keys.vapid, vapid_claims={"sub": self.subject},
                content_encoding="aes128gcm", timeout=_TIMEOUT_S, ttl=_TTL_S,
            )  # fmt: skip

        try:
            await asyncio.to_thread(send)
        except WebPushException as exc:
            status = exc.status_code
            if status in (404, 410):
                await self.store.drop_subscription(subscription.id)
                raise DeliveryError(f"订阅已失效（错误码 {status}）", f"subscription gone (HTTP {status})", gone=True) from None
            permanent = status is not None and 400 <= status < 500 and status not in (408, 429)
            raise DeliveryError(
                f"推送服务拒绝，错误码 {status}", f"HTTP {status}: {exc.message}"[:300], permanent=permanent
            ) from None
        except Exception as exc:  # requests' connection errors and the like
            raise DeliveryError("连接失败", f"{type(exc).__name__}: {exc}"[:300]) from None
