"""The seal's queue commands: what ``qinglian edge ...`` hands to the writer (``edge/kernel/commands.py``).

Each takes the agent that is the writer and the arguments as they crossed the process boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from edge.kernel.contract import Command
from edge.kernel.documents import StoredDocument


async def _file_request(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    doc = args["document"]
    stored = StoredDocument(str(doc["sha256"]), str(doc["name"]), int(doc["size"]))
    request = await host.file_request(
        args["applicant"], args["matter"], args["seal"], args["presses"], stored, args.get("amount_fen", 0), args.get("device")
    )
    return dict(request.to_dict())


async def _approve(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return dict((await host.approve(args["request_id"], args["approver"], args.get("account"), args.get("comment"))).to_dict())


async def _reject(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return dict((await host.reject(args["request_id"], args["approver"], args["reason"], args.get("account"))).to_dict())


async def _hand_over(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    handed = await host.hand_over(args["request_id"], args["approver"], args["to"], args["reason"], args.get("account"))
    return dict(handed.to_dict())


async def _urgent(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    urgent = await host.desk.mark_urgent(args["request_id"], args["applicant"], args["reason"], args.get("account"))
    return dict(urgent.to_dict())


async def _allow_release(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return asdict(await host.allow_release(args["manifest"]))


async def _maintenance(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return {"no": await host.open_maintenance(args["device_name"], int(args["seconds"]))}


async def _enrol(host: Any, args: Mapping[str, Any]) -> dict[str, Any]:
    return dict((await host.record_enrolment(args["device_name"], args["device_id"], args["fingerprint"])).to_dict())


COMMANDS: dict[str, Command] = {
    "file_request": _file_request, "approve": _approve, "reject": _reject, "hand_over": _hand_over, "urgent": _urgent,
    "allow_release": _allow_release, "maintenance": _maintenance, "enrol": _enrol,
}  # fmt: skip
