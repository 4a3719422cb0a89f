"""`make demo`'s seal requests beside the ones a visitor files: one awaiting its approvers, whose first approver
handed his step over (转交) to 赵磊 before a training day in the township. Seeded through the desk, as the people
would; a second run adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import cv2

from edge.ledger.private import open_private, private_dir
from edge.seal import projection as P
from edge.seal.db import PENDING

AMOUNT_FEN = 680_000  # ¥6,800.00: the chain route of the demo's 公章 (张伟, then 陈静)
READ_WAIT_S = 120.0  # the original is read before anyone decides it: a cold OCR worker on a busy machine


async def seed(host: Any) -> None:
    if await host.ledger.entries_of_kind(P.HANDED_OVER):
        return
    from hostsim import pages  # the page printed as a village's contract; loaded by the demo alone

    now = datetime.now(UTC)
    spec = pages.random_spec(
        20_241, title="农村土地经营权流转合同", party_a="青莲村股份经济合作社", amount_fen=AMOUNT_FEN, date=now.date(),
        number=f"QL-LZ-{now.strftime('%Y%m%d')}",
    )  # fmt: skip
    ok, png = cv2.imencode(".png", pages.render_page(spec).image)
    if not ok:
        raise RuntimeError("could not encode the demo's contract page")
    path = private_dir(host.config.data_dir / "inbox") / "土地流转合同.png"
    with open_private(path) as f:
        f.write(bytes(png))
    request = await host.file_request("liming", "农村土地经营权流转合同盖章（二组连片 46 亩）", "official", 2, path, AMOUNT_FEN)
    await host.wait_request(request.id, {PENDING}, READ_WAIT_S)
    await host.hand_over(request.id, "zhangwei", "zhaolei", "本人明天去镇里参加培训，请赵磊代为审批", "zhangwei")
