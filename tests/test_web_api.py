"""The console's pieces without a browser: config, passwords, uploads, sessions and login limits, accounts,
the JSON API in-process (httpx over ASGI), and the account CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from edge_support import LARGE, SMALL, document, writer  # noqa: F401  (writer is a fixture)
from web_support import PASSWORD, Api, seed_account

from edge.agent import EdgeAgent
from edge.kernel.config import load_config
from edge.kernel.errors import ConfigError, InputError
from edge.kernel.websettings import WebSettings, parse_listen
from edge.ledger.wire import canonical_hash
from edge.web.accounts import check_account
from edge.web.app import create_app
from edge.web.demo import sample_pdf, sample_png
from edge.web.ledgerview import LedgerReader
from edge.web.service import Console
from edge.web.store import WebStore
from edge.web.uploads import receive, safe_filename, sniff
from qinglian.logins import LoginLimit
from qinglian.passwords import check_new_password, hash_password, verify_password

# -- config ---------------------------------------------------------------------------------------------


def _config_with(tmp_path: Path, web: str) -> Path:
    from edge_support import write_config

    path = write_config(tmp_path, "socket://127.0.0.1:9")
    with path.open("a", encoding="utf-8") as f:
        f.write(web)
    return path


def test_web_section_is_read_and_checked(tmp_path: Path) -> None:
    config = load_config(_config_with(tmp_path, '''
[web]
listen = "0.0.0.0:8443"
public_url = "https://seal.example.cn/"
max_upload_mb = 10

[[web.notify]]
kind = "webpush"
subject = "mailto:ops@example.cn"

[[web.notify]]
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?access_token=x"
secret = "SECx"
'''))
    web = config.web
    assert web.enabled and (web.host, web.port) == ("0.0.0.0", 8443)
    assert web.public_url == "https://seal.example.cn" and web.max_upload_bytes == 10 * 1024 * 1024
    assert [b.kind for b in web.notify] == ["webpush", "dingtalk"] and web.notify[1].secret == "SECx"
    assert load_config(_config_with(tmp_path / "none", "")).web.enabled is False  # no [web]: no console
    assert parse_listen("[::1]:0") == ("::1", 0)


@pytest.mark.parametrize(
    ("web", "complaint"),
    [
        ('[web]\nlisten = "localhost"\n', "listen"),
        ('[web]\nlisten = "127.0.0.1:8080"\nlisen = 1\n', "unknown key"),
        ('[web]\n[[web.notify]]\nkind = "sms"\n', "unknown kind"),
        ('[web]\n[[web.notify]]\nkind = "dingtalk"\n', "missing key 'url'"),
        ('[web]\n[[web.notify]]\nkind = "webhook"\nurl = "ftp://x"\n', "http(s)"),
        ('[web]\n[[web.notify]]\nkind = "webhook"\nurl = "http://a"\n[[web.notify]]\nkind = "webhook"\nurl = "http://b"\n', "duplicate"),
        ('[web]\nmax_upload_mb = 100\n', "64"),
    ],
)
def test_a_bad_web_section_is_a_clear_config_error(tmp_path: Path, web: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_config_with(tmp_path, web))
    assert complaint in caught.value.message


# -- passwords, uploads ----------------------------------------------------------------------------------


def test_passwords_are_scrypt_hashed_and_checked() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$15$8$1$") and "correct" not in stored
    assert verify_password("correct horse", stored) and not verify_password("correct hors", stored)
    assert hash_password("correct horse") != stored  # salted
    assert not verify_password("x", "md5$abc") and not verify_password("x", "garbage")
    assert check_new_password("short") and check_new_password(" padded password ") and check_new_password("long enough") is None


class _Upload:
    def __init__(self, name: str, data: bytes) -> None:
        self.filename = name
        self._data = io.BytesIO(data)

    async def read(self, n: int = -1) -> bytes:
        return self._data.read(n)


async def test_uploads_are_checked_by_their_bytes(tmp_path: Path) -> None:
    assert sniff(sample_pdf("x", [])) == "pdf" and sniff(sample_png()) == "png" and sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    ok = await receive(_Upload("../../etc/证明.PDF", sample_pdf("x", ["y"])), tmp_path, 10_000)
    assert ok.name == "证明.PDF" and ok.kind == "pdf" and ok.path.read_bytes().startswith(b"%PDF-")
    for name, data, code in [
        ("a.pdf", b"MZ\x90\x00", "bad_type"), ("a.exe", b"MZ", "bad_type"), ("a.png", b"%PDF-1.4", "type_mismatch"),
        ("a.pdf", b"", "empty_file"), ("big.png", sample_png() + bytes(20_000), "file_too_large"), ("noext", b"%PDF", "bad_type"),
    ]:  # fmt: skip
        with pytest.raises(InputError) as caught:
            await receive(_Upload(name, data), tmp_path, 10_000)
        assert caught.value.code == code, (name, caught.value)
    assert [p.name for p in tmp_path.iterdir()] == [ok.path.name]  # nothing else left behind
    assert safe_filename("a\x00b\nc.pdf") == "abc.pdf" and safe_filename("") == "原件" and len(safe_filename("x" * 300 + ".pdf")) <= 120


# -- store: sessions, login failures -----------------------------------------------------------------------


async def test_login_failures_back_off_per_key_and_sessions_expire(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = await WebStore.open(tmp_path, clock=lambda: now[0])
    try:
        key = "ip:10.0.0.9"
        waits = []
        for _ in range(6):
            now[0] += await store.blocked_for([key])  # wait out the delay, then try
            assert await store.claim_attempt([LoginLimit(key, 3)], 2.0, 10.0) == 0.0
            waits.append(await store.blocked_for([key]))
        assert waits == [0.0, 0.0, 2.0, 4.0, 8.0, 10.0]  # doubling from the threshold, capped
        assert await store.claim_attempt([LoginLimit("user:x", 3), LoginLimit(key, 3)], 2.0, 10.0) == 10.0  # nothing charged
        assert await store.blocked_for(["user:x"]) == 0.0
        await store.forgive([key], [], 2.0, 10.0)
        assert await store.blocked_for([key]) == 0.0

        user = await store.add_user("li", "李", ["applicant"], None, ["村"], hash_password("password-1"), False)
        assert user is not None
        token, csrf = await store.create_session(user.id)
        session = await store.session(token, idle_s=60, max_s=3600)
        assert session is not None and session.user is not None and session.csrf == csrf
        assert await store.session(token + "x", 60, 3600) is None
        now[0] += 60
        assert await store.session(token, idle_s=60, max_s=3600) is not None  # a minute idle: still in, seen now
        now[0] += 60.5
        assert await store.session(token, idle_s=60, max_s=3600) is None  # idle too long: gone for good
        assert await store.session(token, idle_s=3600, max_s=3600) is None
        token, _ = await store.create_session(user.id)
        for _ in range(2):
            now[0] += 40
            assert await store.session(token, idle_s=60, max_s=100) is not None
        now[0] += 40
        assert await store.session(token, idle_s=60, max_s=100) is None  # in use, but past its lifetime
        token, _ = await store.create_session(user.id)
        await store.set_password("li", hash_password("password-2"), must_change=False)  # a new password ends every session
        assert await store.session(token, 60, 3600) is None
        raw = (tmp_path / "web.sqlite3").read_bytes()
        assert token.encode() not in raw  # only the token's hash is stored
    finally:
        await store.close()


def test_accounts_follow_the_roster(tmp_path: Path) -> None:
    config = load_config(_config_with(tmp_path, ""))
    new = check_account(config, "zhang", None, ["approver"], "zhangwei", None)
    assert new.name == "张伟" and new.villages == ("测试村",)
    for args, code in [
        (("li", None, ["approver"], "liming", None), "role_not_in_roster"),  # liming is no approver in the roster
        (("x1", None, ["applicant"], None, None), "person_required"),
        (("x2", None, ["village_staff"], None, ["*"]), "bad_scope"),
        (("x3", None, ["wizard"], None, None), "bad_role"),
        (("a b", None, ["supervisor"], None, None), "bad_username"),
        (("x4", None, ["approver"], "zhangwei", ["别村"]), "bad_scope"),
    ]:
        with pytest.raises(InputError) as caught:
            check_account(config, *args)  # type: ignore[arg-type]
        assert caught.value.code == code
    assert check_account(config, "sup", "县监督", ["supervisor"], None, ["*"]).villages == ("*",)


def test_account_cli_add_list_passwd(tmp_path: Path) -> None:
    cfg = str(_config_with(tmp_path, ""))

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "qinglian.cli", "web", "user", *args, "--config", cfg], input=stdin, capture_output=True, text=True, timeout=60)

    added = run("add", "zhangwei", "--role", "approver", "--person", "zhangwei", "--password-stdin", "--json", stdin="password-123\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["account"]["roles"] == ["approver"]
    generated = run("add", "jiandu", "--role", "supervisor", "--village", "*", "--name", "县纪委", "--generate", "--json")
    assert generated.returncode == 0 and len(json.loads(generated.stdout)["password"]) >= 12
    refused = run("add", "liming", "--role", "approver", "--person", "liming", "--generate")
    assert refused.returncode == 1 and "名册" in refused.stderr
    listed = json.loads(run("list", "--json").stdout)
    assert [u["username"] for u in listed] == ["jiandu", "zhangwei"]
    assert run("passwd", "zhangwei", "--password-stdin", stdin="short\n").returncode == 1
    assert run("passwd", "nobody", "--generate").returncode == 1
    assert run("passwd", "zhangwei", "--password-stdin", stdin="another-pass-1\n").returncode == 0
    assert run("disable", "jiandu").returncode == 0 and "停用" in run("list").stdout


# -- the JSON API, in-process -------------------------------------------------------------------------------


@pytest.fixture
async def console(writer: EdgeAgent) -> Any:
    settings = WebSettings(enabled=True, max_upload_bytes=200_000, login_max_failures=3, login_backoff_s=30)
    store = await WebStore.open(writer.config.data_dir)
    for username, roles, person, villages in (
        ("liming", ["applicant"], "liming", None), ("zhangwei", ["approver"], "zhangwei", None),
        ("chenjing", ["approver", "applicant"], "chenjing", None), ("outsider", ["approver"], "zhaolei", None),
        ("jiandu", ["supervisor"], None, ["*"]), ("far", ["supervisor"], None, ["别的村"]),
    ):  # fmt: skip
        await seed_account(store, writer, username, roles, person, villages)
    ledger = LedgerReader(writer.config.data_dir)
    app = create_app(Console(writer, store, settings), ledger)
    clients: list[httpx.AsyncClient] = []

    def client() -> Api:
        c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test")
        clients.append(c)
        return Api(c)

    yield client
    for c in clients:
        await c.aclose()
    await ledger.close()
    await store.close()


CAMERA_FIELDS = ("connected", "last_error", "reconnects", "captures", "capture_failures", "in_progress", "ocr_backend")


async def test_openapi_describes_only_the_json_api(console: Any) -> None:
    api = console()
    spec = (await api.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert all(p.startswith("/api/") for p in paths)
    for path in ("/api/login", "/api/requests", "/api/requests/{request_id}/approve", "/api/requests/{request_id}/reject",
                 "/api/inbox", "/api/devices", "/api/camera", "/api/ledger", "/api/ledger/export.csv", "/api/push/subscriptions"):
        assert path in paths, path
    assert "multipart/form-data" in paths["/api/requests"]["post"]["requestBody"]["content"]


async def test_api_file_approve_and_the_rules(console: Any, writer: EdgeAgent) -> None:
    liming, zhangwei, chenjing, outsider, jiandu = console(), console(), console(), console(), console()
    assert (await liming.client.get("/api/requests")).status_code == 401
    assert (await liming.login("liming", "wrong")).status_code == 401
    assert (await liming.login("liming")).status_code == 200
    filed = await liming.file("村道修缮证明")
    assert filed.status_code == 201, filed.text
    rid = filed.json()["id"]
    assert filed.json()["applicant"] == "liming" and filed.json()["document"]["name"] == "doc.pdf"
    doc = await liming.client.get(f"/api/requests/{rid}/document")
    assert doc.headers["content-type"] == "application/pdf" and doc.content.startswith(b"%PDF-")

    await zhangwei.login("zhangwei")
    inbox = (await zhangwei.client.get("/api/inbox")).json()
    assert [(i["request"]["id"], i["your_turn"]) for i in inbox] == [(rid, True)]
    assert (await zhangwei.client.post(f"/api/requests/{rid}/approve")).status_code == 403  # no CSRF token
    approved = await zhangwei.post(f"/api/requests/{rid}/approve")
    assert approved.status_code == 200 and approved.json()["approvals"][0]["person"] == "zhangwei"
    again = await zhangwei.post(f"/api/requests/{rid}/approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_approved"

    # Self-approval: refused by the agent's rules, and on record.
    await chenjing.login("chenjing")
    own = (await chenjing.file("本人合同", amount_fen=LARGE)).json()["id"]
    refused = await chenjing.post(f"/api/requests/{own}/approve")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "self_approval"

    # An account whose person is not on the route does not see the request at all.
    await outsider.login("outsider")
    assert (await outsider.client.get(f"/api/requests/{rid}")).status_code == 404
    assert (await outsider.post(f"/api/requests/{rid}/reject", json={"reason": "x"})).status_code == 404

    # The supervisor reads everything, changes nothing; a supervisor of other villages sees nothing here.
    await jiandu.login("jiandu")
    assert {r["id"] for r in (await jiandu.client.get("/api/requests")).json()} == {rid, own}
    assert (await jiandu.post(f"/api/requests/{own}/approve")).status_code == 403
    far = console()
    await far.login("far")
    assert (await far.client.get("/api/requests")).json() == []
    assert (await far.client.get("/api/ledger")).status_code == 403

    page = (await jiandu.client.get("/api/ledger", params={"kind": "seal_request.*"})).json()
    kinds = {e["kind"] for e in page["entries"]}
    assert kinds <= {"seal_request.filed", "seal_request.approval", "seal_request.approval_refused"} and "seal_request.filed" in kinds
    refusals = (await jiandu.client.get("/api/ledger", params={"kind": "seal_request.approval_refused"})).json()["entries"]
    assert refusals[0]["summary"].endswith("审批自己的申请")
    csv = await jiandu.client.get("/api/ledger/export.csv", params={"request_id": rid})
    assert csv.content.startswith(b"\xef\xbb\xbf") and "提交申请" in csv.content.decode("utf-8-sig")
    assert (await jiandu.client.get("/api/ledger", params={"since": "not a date"})).status_code == 400
    assert (await jiandu.client.get("/api/camera")).json() == {**dict.fromkeys(CAMERA_FIELDS), "configured": False}
    assert (await liming.client.get("/api/camera")).status_code == 403  # the devices' people and supervisors only


async def test_api_uploads_limits_and_login_lockout(console: Any, writer: EdgeAgent) -> None:
    api = console()
    await api.login("liming")
    before = await writer.ledger.size()
    exe = await api.file("坏文件", name="invoice.pdf", data=b"MZ" + bytes(100))
    assert exe.status_code == 400 and "Windows 程序" in exe.json()["error"]["message"]
    big = await api.file("大文件", name="scan.png", data=sample_png() + bytes(210_000))  # over the file limit
    assert big.status_code == 400 and "原件过大" in big.json()["error"]["message"]
    huge = await api.file("大文件", name="scan.png", data=sample_png() + bytes(600_000))  # refused before it is read
    assert huge.status_code == 413 and "原件最多" in huge.json()["error"]["message"]
    bad_presses = await api.post(
        "/api/requests", data={"matter": "x", "seal": "official", "presses": "0"}, files={"document": ("a.png", sample_png(), "image/png")}
    )
    assert bad_presses.status_code == 400 and "1" in bad_presses.json()["error"]["message"]
    assert await writer.ledger.size() == before
    assert not (writer.config.data_dir / "documents").exists() or not any((writer.config.data_dir / "documents").rglob("*/*"))

    intruder = console()
    codes = [(await intruder.login("zhangwei", "guess")).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert (await intruder.login("zhangwei")).status_code == 429  # even the right password waits
    assert (await console().login("liming")).status_code == 200  # other accounts are unaffected


async def test_pages_need_a_login_and_keep_the_target(console: Any) -> None:
    api = console()
    r = await api.client.get("/requests/SR-000001")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Frequests%2FSR-000001"
    login = await api.client.get("/login?next=/requests/SR-000001")
    form_cookie = login.headers["set-cookie"]  # the form's CSRF token: no session before a login
    assert form_cookie.startswith("qinglian_login=") and "HttpOnly" in form_cookie and "samesite=strict" in form_cookie.lower()
    assert "content-security-policy" in login.headers and "default-src 'self'" in login.headers["content-security-policy"]
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token
    done = await api.client.post("/login", data={"username": "liming", "password": PASSWORD, "csrf_token": token.group(1), "next": "//evil.example/x"})
    assert done.status_code == 303 and done.headers["location"] == "/"  # never off-site
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("qinglian_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax") and "Secure" not in cookie  # plain http here
    no_token = console()
    await no_token.client.get("/login")
    forged = await no_token.client.post("/login", data={"username": "liming", "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 403


async def test_session_cookie_is_secure_over_https(writer: EdgeAgent) -> None:
    store = await WebStore.open(writer.config.data_dir)
    ledger = LedgerReader(writer.config.data_dir)
    try:
        await seed_account(store, writer, "liming", ["applicant"], "liming")
        app = create_app(Console(writer, store, WebSettings(enabled=True)), ledger)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://console.test") as client:
            r = await client.post("/api/login", json={"username": "liming", "password": PASSWORD})
            assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]
    finally:
        await ledger.close()
        await store.close()


async def test_a_roster_and_routing_from_the_central_store_reach_the_running_console(writer: EdgeAgent) -> None:
    store = await WebStore.open(writer.config.data_dir)
    ledger = LedgerReader(writer.config.data_dir)
    try:
        await seed_account(store, writer, "liming", ["applicant"], "liming")
        app = create_app(Console(writer, store, WebSettings(enabled=True)), ledger)  # started before the sync below
        received = {
            "roster": {"people": [{"id": "sunli", "name": "孙立", "roles": ["approver"]}]},  # a township-appointed approver
            "routing": {"routes": [{"name": "镇定-公章", "seal": ["official"], "mode": "chain", "approvers": ["sunli", "zhangwei"]}]},
        }  # fmt: skip
        await writer.apply_central_config(received, canonical_hash(received))
        await seed_account(store, writer, "sunli", ["approver"], "sunli")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as c1, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console.test") as c2:  # fmt: skip
            liming, sunli = Api(c1), Api(c2)
            await liming.login("liming")
            rid = (await liming.file("镇定路线")).json()["id"]
            assert (await sunli.login("sunli")).status_code == 200
            inbox = (await sunli.client.get("/api/inbox")).json()
            assert [(i["request"]["id"], i["your_turn"]) for i in inbox] == [(rid, True)]
            assert (await sunli.post(f"/api/requests/{rid}/approve")).status_code == 200
            page = await sunli.client.get(f"/requests/{rid}")
            assert "孙立" in page.text
    finally:
        await ledger.close()
        await store.close()


def test_no_asset_comes_from_outside() -> None:
    root = Path(__file__).resolve().parent.parent / "edge" / "web"
    for path in [*root.glob("templates/*.html"), *root.glob("static/*.js"), *root.glob("static/*.css")]:
        text = path.read_text(encoding="utf-8")
        assert "//cdn" not in text and "https://" not in text and "http://" not in text, path
