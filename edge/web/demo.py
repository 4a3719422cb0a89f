"""``qinglian demo --serve``: the simulated board, the edge agent and its web console, until Ctrl-C.

On the first run in a data folder it writes the demo config (as ``qinglian
demo`` does), enrols the board, creates the demo accounts with one generated
password (kept in ``DATA/demo-accounts.json``, printed at every start) and a
sample original to upload. The demo's people are taken to have set that
password themselves (recorded so in the ledger), so its approvers can approve
at once; an account an admin creates must first get its owner's own password. The device page has a "press" button because the
board is simulated; it lays the approved original (when it is an image, like
the sample contract page) under the board's virtual desk camera first, so each
press gets its photo and OCR check as on a real desk. The board's control port
works too (printed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import signal
import sys
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from central.accounts.demo import DEMO_CENTRAL_ACCOUNTS
from central.demo import DemoCentral, start_demo_central
from edge.agent import EdgeAgent
from edge.demo import board_config, bring_up, demo_release, write_contract_page
from edge.kernel.accounts import ROLE_NAMES, host_operator
from edge.kernel.config import CentralSettings
from edge.kernel.errors import EdgeError
from edge.kernel.websettings import WebSettings, with_listen
from edge.ledger.keys import load_or_create_signing_key, public_key_pem
from edge.ledger.private import open_private, private_dir
from edge.web.accounts import check_account, create_account
from edge.web.store import WebStore
from hostsim.control import SimBoard

log = logging.getLogger("edge.demo")

ACCOUNTS_FILE = "demo-accounts.json"
#: The demo's village at its central store.
DEMO_EDGE_ID = "qinglian-cun"
# username, roles, person, villages, what to try with it
DEMO_ACCOUNTS: tuple[tuple[str, tuple[str, ...], str | None, tuple[str, ...], str, str], ...] = (
    ("liming", ("applicant",), "liming", (), "", "提交用印申请（上传原件）"),
    ("wangfang", ("custodian", "applicant"), "wangfang", (), "", "印章管理员：设备页按压印章"),
    ("zhangwei", ("approver",), "zhangwei", (), "", "第一审批人（手机上审批）"),
    ("chenjing", ("approver",), "chenjing", (), "", "第二审批人"),
    ("zhaolei", ("approver",), "zhaolei", (), "", "大额申请的会签审批人"),
    ("zhoumin", ("village_staff",), None, (), "周敏（村务）", "户主大会：名册、通知、签到、计票"),
    ("sunli", ("village_staff",), None, (), "孙丽（村务）", "户主大会：第二名计票人复核计票单"),
    ("wukuaiji", ("village_staff",), None, (), "吴会计（村报账员）", "资金存放：导入银行流水、联席会议存放决定、登记存款合同"),
    ("zhoujian", ("village_staff",), None, (), "周建（联络站站长）", "廉情吹哨人：用演示密码解锁密钥，阅读、办理线索"),
    ("wuxia", ("village_staff",), None, (), "吴霞（联络员）", "廉情吹哨人：代群众录入线索"),
    ("jiandu", ("supervisor",), None, ("*",), "镇纪委监督员", "台账、异常、导出 CSV（只读）"),
    ("admin", ("admin",), None, (), "管理员", "账号管理、设备"),
)


def sample_pdf(title: str, lines: list[str]) -> bytes:
    """A small valid one-page PDF (Helvetica, ASCII text) to upload in the demo."""
    text = ["BT", "/F1 20 Tf", "72 760 Td", f"({title}) Tj", "/F1 12 Tf"]
    for line in lines:
        text += ["0 -24 Td", f"({line}) Tj"]
    text.append("ET")
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def sample_png(width: int = 120, height: int = 80) -> bytes:
    """A small valid PNG (a red seal square on white) for photo-style uploads."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            inside = 20 <= x < 100 and 10 <= y < 70 and not (26 <= x < 94 and 16 <= y < 64)
            row += bytes((200, 30, 30) if inside else (255, 255, 255))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes((8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


async def ensure_accounts(data: Path, agent: EdgeAgent) -> str:
    """The demo accounts (created once, each recorded in the ledger) and their shared password."""
    config = agent.config
    path = data / ACCOUNTS_FILE
    store = await WebStore.open(config.data_dir)
    try:
        if path.exists():
            password = str(json.loads(path.read_text(encoding="utf-8"))["password"])
        else:
            password = secrets.token_urlsafe(9)
        for username, roles, person, villages, name, _ in DEMO_ACCOUNTS:
            if await store.user_by_name(username) is None:
                new = check_account(config, username, name or None, roles, person, villages or None)
                await create_account(store, config, new, password, host_operator(), agent.record_account, own_password=True)
        if not path.exists():
            with open_private(path, "w") as f:
                f.write(json.dumps({"password": password, "accounts": [a[0] for a in DEMO_ACCOUNTS]}, ensure_ascii=False))
    finally:
        await store.close()
    return password


def _samples(data: Path) -> list[Path]:
    inbox = private_dir(data / "inbox")
    page = inbox / "sample-contract.png"  # a Chinese contract page: the desk camera and OCR can check it
    pdf = inbox / "sample-road-repair-certificate.pdf"
    png = inbox / "sample-photo.png"
    if not page.exists():
        write_contract_page(page)
    for path, make in (
        (pdf, lambda: sample_pdf("Qinglian Village Committee", [
            "Certificate: payment for the village road repair", "Amount: CNY 2,500.00", "(demo original document)",
        ])),
        (png, sample_png),
    ):  # fmt: skip
        if not path.exists():
            with open_private(path) as f:
                f.write(make())
    return [page, pdf, png]


async def serve_demo(data: Path, listen: str, ready: Any = None) -> int:
    private_dir(data)
    stop = asyncio.Event()  # Ctrl-C or SIGTERM at any point: shut down what was started, board last
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    built = await asyncio.to_thread(demo_release, data)
    board = await asyncio.to_thread(SimBoard(data / "board", camera=True).start)
    try:
        config = board_config(data, board)
        settings = with_listen(config.web, listen)
        samples = _samples(data)
        # A central store beside the edge, which the edge syncs to and whose decision key it pins.
        key = load_or_create_signing_key(config.data_dir)  # the ledger's own key, made now on a first run
        pem = public_key_pem(key.public_key()).decode()
        central = await start_demo_central(data / "central", DEMO_EDGE_ID, config.village, pem)
        config = replace(config, central=CentralSettings(central.url, DEMO_EDGE_ID, 5.0, decision_key=central.public_key))

        try:
            agent = await EdgeAgent.open(config)
        except BaseException:
            await central.close()
            raise
        console = None
        try:
            password = await ensure_accounts(data, agent)
            await central.add_demo_accounts(password)
            await bring_up(agent, board, built)
            await agent.start()

            async def village() -> None:
                for part in agent.db.parts.parts:
                    if part.demo is not None:
                        await part.demo(agent)

            assert agent.sync is not None  # the demo's config syncs to its central
            await central.seed(password, village, agent.sync.sync_once)  # the village's demos, the central's, in turn
            from edge.web.server import start_console

            console = await start_console(agent, settings, sim=board)
            _announce(console.url, password, samples, board, data, settings, central)
            if ready is not None:
                ready(console.url, password)
            await stop.wait()
            print("\n正在停止 stopping…", flush=True)
        finally:
            if console is not None:
                await console.close()
            await agent.close()
            await central.close()
    finally:
        await asyncio.to_thread(board.stop)
    return 0


def _announce(
    url: str, password: str, samples: list[Path], board: SimBoard, data: Path, settings: WebSettings, central: DemoCentral
) -> None:
    try:
        host, port = board.control._sock.getpeername()[:2]
        control = f"echo '{{\"op\": \"press\"}}' | nc -q1 {host} {port}"
    except (OSError, AttributeError):  # the board's control socket is already gone
        control = "(control port unknown)"
    lines = [
        "",
        "清廉演示控制台 Qinglian demo console — 模拟印章设备 + 边缘代理 + 网页控制台",
        f"  打开 open:  {url}/",
        f"  村务公开 notice board (无需登录 no login): {url}/board",
        f"  演示账号 demo accounts (密码 password: {password})",
    ]
    for username, roles, _, _, _, what in DEMO_ACCOUNTS:
        lines.append(f"    {username:<9} {'、'.join(ROLE_NAMES[r] for r in roles):<12} {what}")
    lines += [
        "  流程 try: liming 提交申请（上传样例原件）→ zhangwei、chenjing 依次同意 → wangfang 在「设备」页按压 → 申请页看到每次盖章",
        f"  样例原件 sample originals: {', '.join(str(p) for p in samples)}",
        f"  上传限额 upload limits: 每个账号每天 {settings.upload_quota_bytes >> 20} MB；数据盘剩余不足 "
        f"{settings.min_free_bytes >> 20} MB 时暂停上传，admin 登录后看到提醒",
        f"  按压印章 press the seal: 设备页「模拟按压」按钮, or  {control}",
        f"  中心库 central store: {central.url}/  (督查令牌登录 log in with the supervisor token: {central.token})",
        f"    决定签名公钥 its decision key: {central.url}/central/pubkey   本村每 5 秒同步 the village syncs every 5 s",
        f"    中心库账号 central accounts at {central.url}/login (密码同上 same password):",
        *(f"      {username:<10} {what}" for username, _, what in DEMO_CENTRAL_ACCOUNTS),
        f"  数据 data: {data}   台账核验 verify: qinglian ledger verify --data {data}",
        f"    中心库决定台账 the central's decision log: qinglian ledger verify --data {data / 'central' / 'decisions'}",
        "  Ctrl-C 停止 stop",
        "",
    ]
    print("\n".join(lines), flush=True)


def serve_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    data = (args.data if args.data is not None else Path("data/demo")).resolve()
    try:
        return asyncio.run(serve_demo(data, args.listen))
    except (EdgeError, RuntimeError, OSError) as exc:
        message = exc.message if isinstance(exc, EdgeError) else f"{type(exc).__name__}: {exc}"
        if "cannot listen" in message:
            message += "；演示可换端口 try: qinglian demo --serve --listen 127.0.0.1:8081"
        print(f"演示失败 demo failed: {message} (data in {data})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
