"""The original chosen on the new-request form survives a form error: kept as the account's draft, named on the
page, filed by the next submission without a new file; nobody else's submission can file it."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
from edge_support import SMALL
from test_ocr_edge import console_clients
from test_seal_handover import edge  # noqa: F401  (a fixture: the agent on the simulated board)

from edge.agent import EdgeAgent
from hostsim import pages


async def test_a_form_error_keeps_the_original_for_its_account_only(edge: EdgeAgent, tmp_path: Path) -> None:
    ok, png = cv2.imencode(".png", pages.render_page(pages.random_spec(7, amount_fen=SMALL)).image)
    assert ok
    fields = {"matter": "村委会证明", "seal": "official", "presses": "1"}
    async with console_clients(edge, ("liming", ["applicant"], "liming"), ("wangfang", ["applicant"], "wangfang")) as (
        applicant,
        other,
    ):
        csrf = (await applicant.get("/api/me")).json()["csrf_token"]
        bad = await applicant.post(
            "/requests/new", data={**fields, "csrf_token": csrf, "amount": "两千"}, files={"document": ("证明.png", png.tobytes(), "image/png")}
        )
        assert bad.status_code == 400 and 'id="kept-original"' in bad.text and "证明.png" in bad.text
        (sha,) = re.findall(r'name="draft" value="([0-9a-f]{64})"', bad.text)
        assert 'name="document" type="file" accept' in bad.text and "required>" not in bad.text.split('name="document"')[1][:80]
        assert await edge.list_requests() == []  # nothing filed, nothing stored
        assert list((edge.config.data_dir / "documents").glob("**/*.png")) == []

        # another account names the draft: it is not theirs, their form has no file
        token = (await other.get("/api/me")).json()["csrf_token"]
        stolen = await other.post("/requests/new", data={**fields, "csrf_token": token, "amount": "25", "draft": sha})
        assert stolen.status_code == 400 and "请选择原件文件" in stolen.text and await edge.list_requests() == []

        again = await applicant.post("/requests/new", data={**fields, "csrf_token": csrf, "amount": f"{SMALL / 100:.2f}", "draft": sha})
        assert again.status_code == 303
        (filed,) = await edge.list_requests()
        assert filed.document["name"] == "证明.png" and filed.document["sha256"] == sha
        assert list((edge.config.data_dir / "drafts").glob("*")) == []  # taken: the draft is gone
        # the same draft again: gone, so no second request from it
        twice = await applicant.post("/requests/new", data={**fields, "csrf_token": csrf, "amount": "25", "draft": sha})
        assert twice.status_code == 400 and len(await edge.list_requests()) == 1
