"""Push to phones: Web Push really encrypted (RFC 8291) and VAPID-signed (RFC 8292), signed DingTalk robot
calls, WeCom and webhook bodies, retries with backoff, and who is told when — against local receivers."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from edge_support import LARGE, SMALL, document, write_config, writer  # noqa: F401  (writer is a fixture)
from web_support import Received, Receiver, dingtalk_robot, failing_then_ok, seed_account
from whistleblower_support import Clock, open_agent, set_up_station

from edge.agent import EdgeAgent
from edge.kernel.accounts import Actor
from edge.kernel.config import load_config
from edge.kernel.websettings import NotifyBackendConfig, WebSettings
from edge.modules.procurement import desk as procurement_desk
from edge.modules.procurement.inputs import DemandDraft, Line
from edge.modules.whistleblower import WHISTLEBLOWER
from edge.modules.work_order import WORK_ORDER
from edge.modules.work_order import desk as work_order_desk
from edge.notify.notifier import Notifier
from edge.notify.robots import dingtalk_sign
from edge.web.server import make_backends
from edge.web.store import Delivery, WebStore

BASE = "https://seal.example.cn"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Phone:
    """A browser's push subscription: its own P-256 key pair and auth secret (what PushManager.subscribe makes)."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint
        point = self.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        self.p256dh = b64url(point)

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        result: dict[str, Any] = json.loads(plain)
        return result


def vapid_claims(authorization: str, public_key_b64: str) -> dict[str, Any]:
    """Check an RFC 8292 ``vapid t=JWT, k=KEY`` header: the key is ours and the ES256 signature holds."""
    assert authorization.startswith("vapid ")
    parts = dict(p.strip().split("=", 1) for p in authorization[len("vapid ") :].split(","))
    assert parts["k"] == public_key_b64
    header_b64, payload_b64, signature_b64 = parts["t"].split(".")
    assert json.loads(unb64url(header_b64))["alg"] == "ES256"
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    raw = unb64url(signature_b64)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header_b64}.{payload_b64}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if forged
    claims: dict[str, Any] = json.loads(unb64url(payload_b64))
    return claims


async def eventually(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _count(h: Harness, status: str, n: int) -> list[Delivery] | None:
    found = await h.deliveries(status)
    return found if len(found) == n else None


class Harness:
    def __init__(self, agent: EdgeAgent, store: WebStore, notifier: Notifier, settings: WebSettings) -> None:
        self.agent = agent
        self.store = store
        self.notifier = notifier
        self.settings = settings

    async def deliveries(self, status: str | None = None) -> list[Delivery]:
        return [d for d in await self.store.deliveries() if status is None or d.status == status]

    async def subscribe(self, username: str, phone: Phone) -> None:
        account = await self.store.user_by_name(username)
        assert account is not None
        await self.store.add_subscription(account.id, phone.endpoint, phone.p256dh, b64url(phone.auth), "test")

    async def close(self) -> None:
        await self.notifier.close()
        await self.store.close()


async def harness(
    agent: EdgeAgent, *backends: NotifyBackendConfig, clock: Callable[[], float] = time.time, **settings: Any
) -> Harness:
    store = await WebStore.open(agent.config.data_dir, clock=clock)
    web = WebSettings(enabled=True, notify=tuple(backends), **{"notify_retry_s": 0.1, **settings})
    made, _ = make_backends(web, agent, store)
    notifier = Notifier(agent, store, made, web, lambda: BASE)
    for username, roles in (("zhangwei", ("approver",)), ("chenjing", ("approver",)), ("zhaolei", ("approver",)), ("liming", ("applicant",))):
        await seed_account(store, agent, username, roles, username)
    notifier.start()
    return Harness(agent, store, notifier, web)


async def test_web_push_is_encrypted_for_the_subscription_and_signed_with_vapid(writer: EdgeAgent, tmp_path: Any) -> None:
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送", subject="mailto:ops@qinglian.example"))
        try:
            zhangwei = Phone(f"{push_service.url}/push/zhangwei-phone")
            chenjing = Phone(f"{push_service.url}/push/chenjing-phone")
            await h.subscribe("zhangwei", zhangwei)
            await h.subscribe("chenjing", chenjing)
            request = await writer.file_request("liming", "村道修缮证明", "official", 2, document(tmp_path), amount_fen=SMALL)

            (item,) = await eventually("one push", lambda: push_service.received)
            assert item.path == "/push/zhangwei-phone"  # a chain: only the first approver is told now
            assert item.headers["content-encoding"] == "aes128gcm" and int(item.headers["ttl"]) > 0
            message = zhangwei.decrypt(item.body)
            assert message["title"] == f"待审批 {request.id}"
            assert message["url"] == f"{BASE}/requests/{request.id}"  # a link to the page, which asks for a login
            assert "李明" in message["body"] and "¥2,500.00" in message["body"]
            assert "token" not in message["url"] and "?" not in message["url"]  # never a bare bearer link
            vapid_key = h.notifier.backends["网页推送"].keys.public_key_b64  # type: ignore[attr-defined]
            claims = vapid_claims(item.headers["authorization"], vapid_key)
            assert claims["aud"] == push_service.url and claims["sub"] == "mailto:ops@qinglian.example"
            assert claims["exp"] > time.time()
            (sent,) = await eventually("sent", lambda: h.deliveries("sent"))
            assert sent.attempts == 1 and sent.recipient.startswith("张伟(zhangwei)")

            # After the first approval of the chain, the next approver's phone is told.
            await writer.approve(request.id, "zhangwei")
            second = (await eventually("the second push", lambda: push_service.received[1:]))[0]
            assert second.path == "/push/chenjing-phone"
            assert chenjing.decrypt(second.body)["url"] == f"{BASE}/requests/{request.id}"
            # The key pair stays: a restart must not break the subscriptions.
            pem = (writer.config.data_dir / "secrets" / "vapid_private.pem")
            assert pem.stat().st_mode & 0o077 == 0
        finally:
            await h.close()


async def test_n_of_m_tells_every_eligible_approver_and_a_gone_subscription_is_dropped(writer: EdgeAgent, tmp_path: Any) -> None:
    answers = {"/push/zhaolei": 410}
    with Receiver(lambda item: (answers.get(item.path, 201), b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送"))
        try:
            for who in ("zhangwei", "chenjing", "zhaolei"):
                await h.subscribe(who, Phone(f"{push_service.url}/push/{who}"))
            await writer.file_request("liming", "大额合同", "official", 1, document(tmp_path), amount_fen=LARGE)
            await eventually("three pushes", lambda: len(push_service.received) >= 3)
            assert sorted(r.path for r in push_service.received) == ["/push/chenjing", "/push/zhangwei", "/push/zhaolei"]
            (gone,) = await eventually("the failed one", lambda: h.deliveries("failed"))
            assert gone.attempts == 1 and gone.last_error == "订阅已失效（错误码 410）"  # permanent: not retried
            zhaolei = await h.store.user_by_name("zhaolei")
            assert zhaolei is not None and await h.store.subscription_count(zhaolei.id) == 0
        finally:
            await h.close()


async def test_dingtalk_robot_calls_are_signed_and_a_bad_signature_is_a_failed_delivery(writer: EdgeAgent, tmp_path: Any) -> None:
    secret = "SECa1b2c3d4e5f6"
    with Receiver(dingtalk_robot(secret)) as robot:
        good = NotifyBackendConfig("dingtalk", "钉钉", url=f"{robot.url}/robot/send?access_token=abc", secret=secret)
        bad = NotifyBackendConfig("dingtalk", "钉钉(错误密钥)", url=f"{robot.url}/robot/send?access_token=abc", secret="SECwrong")
        h = await harness(writer, good, bad, notify_attempts=2)
        try:
            request = await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            sent = await eventually("the signed one delivered", lambda: h.deliveries("sent"))
            assert [d.backend for d in sent] == ["钉钉"]
            failed = await eventually("the badly signed one given up", lambda: h.deliveries("failed"), 10)
            assert failed[0].backend == "钉钉(错误密钥)" and failed[0].attempts == 2 and failed[0].last_error == "机器人拒绝，错误码 310000"
            ok = [r for r in robot.received if r.json()["markdown"]["title"] == f"待审批 {request.id}"]
            body = ok[0].json()
            assert ok[0].query["access_token"] == ["abc"]
            assert body["msgtype"] == "markdown" and f"{BASE}/requests/{request.id}" in body["markdown"]["text"]
            assert "待 张伟 审批" in body["markdown"]["text"]
        finally:
            await h.close()


def test_dingtalk_sign_matches_the_documented_example() -> None:
    # sign = urlEncode(base64(HmacSHA256(secret, timestamp + "\n" + secret))), computed here independently.
    secret, ts = "SEC000000000000000000000", 1700000000000
    digest = hmac.new(secret.encode(), f"{ts}\n{secret}".encode(), hashlib.sha256).digest()
    from urllib.parse import quote_plus

    assert dingtalk_sign(secret, ts) == quote_plus(base64.b64encode(digest))
    assert "%2B" in dingtalk_sign(secret, 1) or "%2F" in dingtalk_sign(secret, 1) or "%3D" in dingtalk_sign(secret, 1)


async def test_wecom_and_a_signed_webhook(writer: EdgeAgent, tmp_path: Any) -> None:
    hook_secret = "hook-secret"
    with Receiver(lambda item: (200, b'{"errcode": 0, "errmsg": "ok"}')) as wecom, Receiver(lambda item: (204, b"")) as hook:
        h = await harness(
            writer,
            NotifyBackendConfig("wecom", "企业微信", url=f"{wecom.url}/cgi-bin/webhook/send?key=KEY1"),
            NotifyBackendConfig("webhook", "Webhook", url=f"{hook.url}/hook", secret=hook_secret),
        )
        try:
            request = await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            await eventually("both sent", lambda: len(wecom.received) == 1 and len(hook.received) == 1)
            w = wecom.received[0]
            assert w.query["key"] == ["KEY1"]
            assert w.json()["msgtype"] == "markdown" and f"{BASE}/requests/{request.id}" in w.json()["markdown"]["content"]
            k = hook.received[0]
            mac = hmac.new(hook_secret.encode(), k.headers["x-qinglian-timestamp"].encode() + b"." + k.body, hashlib.sha256).hexdigest()
            assert k.headers["x-qinglian-signature"] == f"sha256={mac}"
            payload = k.json()
            assert payload["event"] == "awaiting_approval" and payload["request_id"] == request.id and payload["village"] == "测试村"
            sent = await eventually("both marked sent", lambda: _count(h, "sent", 2))
            assert sorted(d.kind for d in sent) == ["webhook", "wecom"]
        finally:
            await h.close()


class StoppedClock:
    """The console's clock, standing still until the test moves it: a retry is due when the test says."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_a_failing_endpoint_is_retried_with_doubling_backoff(writer: EdgeAgent, tmp_path: Any) -> None:
    clock = StoppedClock()
    arrivals: list[float] = []  # the clock's time at each attempt the endpoint saw
    fail_three_times = failing_then_ok(3)

    def endpoint(item: Received) -> tuple[int, bytes]:
        arrivals.append(clock.now)
        return fail_three_times(item)

    with Receiver(endpoint) as hook:
        h = await harness(writer, NotifyBackendConfig("webhook", "Webhook", url=f"{hook.url}/hook"), clock=clock, notify_retry_s=0.2)
        try:
            start = clock.now
            await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            for attempts, backoff in enumerate((0.2, 0.4, 0.8), start=1):
                (retrying,) = await eventually(f"failed attempt {attempts}", lambda n=attempts: _retrying(h, n))
                assert retrying.last_error == "推送服务返回错误码 503"  # the page's words; "HTTP" and the body go to the log
                assert retrying.next_at == pytest.approx(clock.now + backoff, abs=1e-6)  # doubling from the failed attempt
                clock.now = retrying.next_at  # the retry falls due
                h.notifier.wake()
            (sent,) = await eventually("delivered in the end", lambda: h.deliveries("sent"))
            assert sent.attempts == 4 and sent.last_error is None
            # each attempt when it fell due, none before
            assert arrivals == pytest.approx([start, start + 0.2, start + 0.6, start + 1.4], abs=1e-6)
        finally:
            await h.close()


async def _retrying(h: Harness, attempts: int) -> list[Delivery]:
    return [d for d in await h.deliveries("retrying") if d.attempts == attempts]


async def test_an_endpoint_that_never_answers_is_given_up_after_the_configured_attempts(writer: EdgeAgent, tmp_path: Any) -> None:
    with Receiver(lambda item: (500, b"")) as hook:
        h = await harness(writer, NotifyBackendConfig("webhook", "Webhook", url=f"{hook.url}/hook"), notify_retry_s=0.05, notify_attempts=3)
        try:
            await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            (failed,) = await eventually("given up", lambda: h.deliveries("failed"), 10)
            assert failed.attempts == 3 and len(hook.received) == 3
            assert failed.to_dict()["status_name"] == "发送失败" and failed.to_dict()["next_at"] is None
        finally:
            await h.close()


async def test_a_module_pushes_its_routed_steps_through_the_same_notifier(tmp_path: Path) -> None:
    """Labour dispatch declares its pushes (``Part.notices``): the village head's phone hears of an order to sign,
    linked to the order's page; the applicant hears of the signature, or of the refusal with its reason."""
    path = write_config(tmp_path, "socket://127.0.0.1:9")
    with path.open("a", encoding="utf-8") as f:
        f.write('\n[work_order]\nhead = "zhangwei"\nlead = "zhaolei"\nfinance = "chenjing"\n')
    agent = await EdgeAgent.open(load_config(path, [WORK_ORDER.config] if WORK_ORDER.config else []))
    job = {"content": "村道清扫", "trade": "cleaning", "headcount": "2", "place": "红丰路", "rate": "160",
           "start": "2026-11-02", "end": "2026-11-03"}  # fmt: skip

    async def step(fn: Any, person: str, *args: Any) -> Any:
        async with agent.recorder.step():
            return await fn(agent, agent.config.person(person), "host:test", *args)

    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(agent, NotifyBackendConfig("webpush", "网页推送"))
        phones = {who: Phone(f"{push_service.url}/push/{who}") for who in ("zhangwei", "liming", "zhaolei")}
        try:
            for who, phone in phones.items():
                await h.subscribe(who, phone)
            signed = await step(work_order_desk.file_order, "liming", job)
            (told,) = await eventually("the head told", lambda: push_service.received)
            head = phones["zhangwei"].decrypt(told.body)
            assert told.path == "/push/zhangwei" and head["title"] == f"待审批 {signed}"
            assert head["url"] == f"{BASE}/work_order/orders/{signed}"
            assert "村道清扫" in head["body"] and "李明" in head["body"] and "¥640.00" in head["body"]

            await step(work_order_desk.decide_order, "zhangwei", signed, True)
            done = (await eventually("the applicant told", lambda: push_service.received[1:]))[0]
            assert done.path == "/push/liming" and phones["liming"].decrypt(done.body)["title"] == f"已批准 {signed}"

            refused = await step(work_order_desk.file_order, "liming", job)
            await eventually("the head told again", lambda: push_service.received[2:])
            await step(work_order_desk.decide_order, "zhangwei", refused, False, "人数过多，请核减")
            last = (await eventually("the refusal told", lambda: push_service.received[3:]))[0]
            message = phones["liming"].decrypt(last.body)
            assert last.path == "/push/liming" and message["title"] == f"已驳回 {refused}" and "人数过多，请核减" in message["body"]
            assert not [r for r in push_service.received if r.path == "/push/zhaolei"]  # the lead has nothing to do yet
        finally:
            await h.close()
            await agent.close()


async def test_a_whistleblower_step_past_its_deadline_is_pushed_to_the_station_head(tmp_path: Path) -> None:
    """The tick flags an unacknowledged clue on day 8 and the station head's phone hears of it at once: the clue's
    number and the step, never what the clue says (a push passes through the browser vendor's servers)."""
    clock = Clock()
    agent = await open_agent(tmp_path, X25519PrivateKey.generate(), clock)
    desk = await set_up_station(agent)
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(agent, NotifyBackendConfig("webpush", "网页推送"))
        head, liaison = Phone(f"{push_service.url}/push/zhoujian"), Phone(f"{push_service.url}/push/wuxia")
        try:
            for username, phone in (("zhoujian", head), ("wuxia", liaison)):
                await seed_account(h.store, agent, username, ["village_staff"], None)
                await h.subscribe(username, phone)
            clue = await desk.file_clue("team", "村里低保评定没有公示", clock(), by="zhengli")
            clock.advance(days=7, microseconds=1)
            await WHISTLEBLOWER.tick(agent)  # type: ignore[misc]
            (told,) = await eventually("the head told", lambda: push_service.received)
            message = head.decrypt(told.body)
            assert told.path == "/push/zhoujian" and message["title"] == f"线索逾期 {clue.id}"
            assert "确认收到" in message["body"] and message["url"] == f"{BASE}/whistleblower/clues/{clue.id}"
            assert "低保" not in message["body"]
        finally:
            await h.close()
            await agent.close()


async def test_a_procurement_demand_tells_its_village_approver(writer: EdgeAgent, tmp_path: Path) -> None:
    """A demand filed for the village's approval pushes to its approver, and its outcome to the one who filed it."""
    people = writer.config.people
    clerk, boss = Actor("liming", people["liming"], frozenset({"applicant"})), Actor("zhangwei", people["zhangwei"], frozenset({"approver"}))
    draft = DemandDraft("文化礼堂桌椅", "其他", "文化礼堂", (Line("会议桌", "张", 10, 120_000, "1.8 米"),), "青莲村文化礼堂", date(2099, 1, 10))

    async def nothing() -> None:
        return None

    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送"))
        phones = {who: Phone(f"{push_service.url}/push/{who}") for who in ("zhangwei", "liming")}
        try:
            for who, phone in phones.items():
                await h.subscribe(who, phone)
            demand = await procurement_desk.file_demand(writer, clerk, draft, nothing)
            (told,) = await eventually("the approver told", lambda: push_service.received)
            message = phones["zhangwei"].decrypt(told.body)
            assert told.path == "/push/zhangwei" and message["title"] == f"待审批 {demand}"
            assert message["url"] == f"{BASE}/procurement/demands/{demand}" and "¥12,000.00" in message["body"]
            await procurement_desk.decide_demand(writer, boss, demand, True)
            await eventually("the clerk told", lambda: [r for r in push_service.received if r.path == "/push/liming"])
        finally:
            await h.close()


async def test_the_applicant_hears_the_seal_request_approved_or_rejected_with_its_reason(writer: EdgeAgent, tmp_path: Path) -> None:
    with Receiver(lambda item: (201, b"")) as push_service:
        h = await harness(writer, NotifyBackendConfig("webpush", "网页推送"))
        phone = Phone(f"{push_service.url}/push/liming")
        try:
            await h.subscribe("liming", phone)
            approved = await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            await writer.approve(approved.id, "zhangwei")
            await writer.approve(approved.id, "chenjing")
            (told,) = await eventually("the approval told", lambda: push_service.received)
            message = phone.decrypt(told.body)
            assert message["title"] == f"已批准 {approved.id}" and message["body"].endswith("印章管理员可以用印。")
            assert message["url"] == f"{BASE}/requests/{approved.id}"
            refused = await writer.file_request("liming", "村道修缮证明", "official", 1, document(tmp_path), amount_fen=SMALL)
            await writer.reject(refused.id, "zhangwei", "金额与原件不符")
            second = (await eventually("the rejection told", lambda: push_service.received[1:]))[0]
            message = phone.decrypt(second.body)
            assert message["title"] == f"已驳回 {refused.id}" and message["body"].endswith("驳回理由：金额与原件不符")
        finally:
            await h.close()
