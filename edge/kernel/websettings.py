"""The ``[web]`` section of the edge config: where the console listens, sessions, logins, push backends.

    [web]
    listen = "127.0.0.1:8080"          # host:port; port 0 picks a free one (tests)
    public_url = "https://seal.example.cn"  # the address in pushed links (default: http://listen)
    secure_cookies = "auto"            # auto: Secure when served over HTTPS; always; never
    trusted_proxies = ["127.0.0.1"]    # reverse proxies whose X-Forwarded-For is believed (default: none)
    max_upload_mb = 20
    max_page_megapixels = 40           # an uploaded page (or a PDF page at 200 dpi) over this is refused, never decoded
    upload_quota_mb_per_day = 200      # originals one account may upload per day (Asia/Shanghai)
    min_free_mb = 1024                 # below this much free disk under data_dir uploads stop and the admin is warned

    [[web.notify]]
    kind = "webpush"                   # VAPID keys are made on first start, in data_dir/secrets

    [[web.notify]]
    kind = "dingtalk"                  # 钉钉 custom robot, signed with its secret
    url = "https://oapi.dingtalk.com/robot/send?access_token=..."
    secret = "SEC..."

    [[web.notify]]
    kind = "wecom"                     # 企业微信 group robot
    url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=..."

    [[web.notify]]
    kind = "webhook"                   # any JSON receiver; with a secret, X-Qinglian-Signature: sha256=HMAC(body)
    url = "https://example.cn/hook"

Without ``[[web.notify]]`` only Web Push is active. Without ``[web]`` the
agent serves no console (``qinglian demo --serve`` supplies one).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edge.kernel.errors import ConfigError
from edge.kernel.toml import Table
from edge.ocr.pixels import MAX_PAGE_PIXELS

NOTIFY_KINDS = ("webpush", "dingtalk", "wecom", "webhook")
NOTIFY_NAMES = {"webpush": "网页推送", "dingtalk": "钉钉", "wecom": "企业微信", "webhook": "Webhook"}
SECURE_COOKIE_MODES = ("auto", "always", "never")


@dataclass(frozen=True)
class NotifyBackendConfig:
    kind: str
    name: str  # shown on the request page; unique
    url: str | None = None
    secret: str | None = None
    subject: str = "mailto:admin@localhost"  # Web Push VAPID "sub" claim


@dataclass(frozen=True)
class WebSettings:
    enabled: bool = False  # a [web] section is present
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    secure_cookies: str = "auto"
    session_idle_s: int = 8 * 3600
    session_max_s: int = 7 * 86400
    max_upload_bytes: int = 20 * 1024 * 1024
    max_page_pixels: int = MAX_PAGE_PIXELS
    upload_quota_bytes: int = 200 * 1024 * 1024  # per account and day
    min_free_bytes: int = 1024 * 1024 * 1024  # of the disk holding data_dir
    # Login attempts, counted before the password is checked and given back when it was right; beyond
    # each limit the next attempt waits login_backoff_s, doubled each time up to login_backoff_max_s.
    login_max_failures: int = 5  # per account from one client address
    login_ip_max_failures: int = 20  # per client address, whatever the account
    login_account_max_failures: int = 50  # per account from all addresses together (guessing from many places)
    login_backoff_s: float = 30.0
    login_backoff_max_s: float = 900.0
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client; nobody else's is believed.
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    notify_retry_s: float = 5.0  # first retry of a failed delivery; doubled each time
    notify_retry_max_s: float = 600.0
    notify_attempts: int = 8  # then the delivery is given up (shown as failed)
    notify: tuple[NotifyBackendConfig, ...] = field(
        default_factory=lambda: (NotifyBackendConfig("webpush", NOTIFY_NAMES["webpush"]),)
    )

    @property
    def listen(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen(text: str) -> tuple[str, int]:
    """``"127.0.0.1:8080"``, ``"[::1]:8080"``, ``"0.0.0.0:0"`` → (host, port)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"应为 主机:端口 expected host:port, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def parse_web(t: Table) -> WebSettings:
    """Read the ``[web]`` table (``t`` is empty when the section is absent)."""
    if not t.raw:
        return WebSettings()
    d = WebSettings()
    listen = t.string("listen", required=False) or d.listen
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise t.fail("listen", str(exc)) from None
    public_url = t.string("public_url", required=False) or None
    if public_url is not None:
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise t.fail("public_url", f"应为 http(s) 地址 expected an http(s) URL, got {public_url!r}")
        public_url = public_url.rstrip("/")
    secure = t.string("secure_cookies", required=False) or d.secure_cookies
    if secure not in SECURE_COOKIE_MODES:
        raise t.fail("secure_cookies", f"应为 {', '.join(SECURE_COOKIE_MODES)} expected one of them, got {secure!r}")
    upload_mb = t.integer("max_upload_mb", d.max_upload_bytes // (1024 * 1024), minimum=1)
    assert upload_mb is not None
    if upload_mb > 64:
        raise t.fail("max_upload_mb", "最多 64 MB at most 64 (the document store's limit)")

    def integer(key: str, default: int, minimum: int) -> int:
        value = t.integer(key, default, minimum=minimum)
        assert value is not None
        return value

    mb = 1024 * 1024

    settings = WebSettings(
        enabled=True,
        host=host,
        port=port,
        public_url=public_url,
        secure_cookies=secure,
        session_idle_s=integer("session_idle_s", d.session_idle_s, 60),
        session_max_s=integer("session_max_s", d.session_max_s, 60),
        max_upload_bytes=upload_mb * 1024 * 1024,
        max_page_pixels=integer("max_page_megapixels", d.max_page_pixels // 1_000_000, 1) * 1_000_000,
        upload_quota_bytes=integer("upload_quota_mb_per_day", d.upload_quota_bytes // mb, 1) * mb,
        min_free_bytes=integer("min_free_mb", d.min_free_bytes // mb, 0) * mb,
        login_max_failures=integer("login_max_failures", d.login_max_failures, 1),
        login_ip_max_failures=integer("login_ip_max_failures", d.login_ip_max_failures, 1),
        login_account_max_failures=integer("login_account_max_failures", d.login_account_max_failures, 1),
        login_backoff_s=t.number("login_backoff_s", d.login_backoff_s, 0.0),
        login_backoff_max_s=t.number("login_backoff_max_s", d.login_backoff_max_s, 0.0),
        notify_retry_s=t.number("notify_retry_s", d.notify_retry_s, 0.0),
        notify_retry_max_s=t.number("notify_retry_max_s", d.notify_retry_max_s, 0.0),
        notify_attempts=integer("notify_attempts", d.notify_attempts, 1),
        trusted_proxies=_networks(t, "trusted_proxies"),
        notify=_notify(t) if "notify" in t.raw else d.notify,
    )
    t.seen.add("notify")
    t.done()
    return settings


def _networks(t: Table, key: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    networks = []
    for text in t.strings(key, required=False):
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise t.fail(key, f"应为 IP 地址或网段 expected an IP address or network, got {text!r}") from None
    return tuple(networks)


def _notify(t: Table) -> tuple[NotifyBackendConfig, ...]:
    raw = t.raw.get("notify")
    if not isinstance(raw, list):
        raise t.fail("notify", "应为表数组 expected an array of tables ([[web.notify]])")
    backends: list[NotifyBackendConfig] = []
    for i, item in enumerate(raw):
        b = Table(item, f"web.notify[{i}]")
        kind = b.string("kind")
        if kind not in NOTIFY_KINDS:
            raise b.fail("kind", f"未知推送方式 unknown kind {kind!r}; use {', '.join(NOTIFY_KINDS)}")
        name = b.string("name", required=False) or NOTIFY_NAMES[kind]
        url = b.string("url", required=kind != "webpush") or None
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise b.fail("url", f"应为 http(s) 地址 expected an http(s) URL, got {url!r}")
        secret = b.string("secret", required=False) or None
        subject = b.string("subject", required=False) or NotifyBackendConfig.subject
        if kind == "webpush" and not subject.startswith(("mailto:", "https://")):
            raise b.fail("subject", f"应为 mailto: 或 https: expected mailto: or https:, got {subject!r}")
        b.done()
        if any(other.name == name for other in backends):
            raise b.fail("name", f"重复的名称 duplicate backend name {name!r}; give each a name")
        backends.append(NotifyBackendConfig(kind, name, url, secret, subject))
    return tuple(backends)


def with_listen(settings: WebSettings, listen: str) -> WebSettings:
    """A copy serving on ``listen`` (the demo's ``--listen``), enabled."""
    from dataclasses import replace

    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise ConfigError(f"监听地址错误 bad --listen: {exc}") from None
    return replace(settings, enabled=True, host=host, port=port)


def describe(settings: WebSettings) -> dict[str, Any]:
    return {"listen": settings.listen, "public_url": settings.public_url, "notify": [b.name for b in settings.notify]}
