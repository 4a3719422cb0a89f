"""The village's platform procurement as Open Contracting data (OCDS 1.1): one release per demand that went up
to the township, carrying what the village knows of it — the tender (items, the ceiling as ``tender.value``),
the award, the contract and its payments as implementation transactions, and the bids through the bid
extension (how many were valid; each counted bid with its tenderer and price once the central's award lists
them, names public only after the award). A pure function of the rows: the CLI writes it (``qinglian procurement export-ocds``).

Amounts are JSON numbers in yuan (integer fen / 100, exact in decimal notation); dates are RFC 3339 in
Asia/Shanghai. The ocid is ``<prefix>-<village>-<demand id>``, the prefix a placeholder until the county
registers one with the Open Contracting Partnership.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from edge.ledger.localtime import local_time

OCID_PREFIX = "ocds-qlcg00"
VERSION = "1.1"
BID_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
CURRENCY = "CNY"
#: The demand's status -> the tender's (OCDS tenderStatus code list).
TENDER_STATUS = {"submitted": "active", "bidding": "active", "returned": "withdrawn", "failed": "unsuccessful"}


def _value(fen: int) -> dict[str, Any]:
    return {"amount": int(fen) // 100 if int(fen) % 100 == 0 else int(fen) / 100, "currency": CURRENCY}


def _when(ts: str) -> str:
    """A ledger timestamp (UTC) as RFC 3339 in Asia/Shanghai."""
    return local_time(ts, "%Y-%m-%dT%H:%M:%S+08:00")


def _day(day: str) -> str:
    return f"{day}T00:00:00+08:00"


def _bid_details(details: Sequence[Mapping[str, Any]], winner: Mapping[str, str], parties: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each counted bid the central's award lists (bid extension ``bids.details``), its tenderer among the parties."""
    out = []
    for d in details:
        tenderer = {"id": str(d["supplier"]["id"]), "name": str(d["supplier"]["name"])}
        if tenderer["id"] != winner["id"]:
            parties.append({**tenderer, "roles": ["tenderer"]})
        out.append({"id": str(d["id"]), "date": _when(str(d["at"])), "status": "valid", "tenderers": [tenderer],
                    "value": _value(int(d["amount_fen"]))})  # fmt: skip
    return out


def release(village: str, demand: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One demand's release: the stages it has reached, as of its last change."""
    ocid = f"{OCID_PREFIX}-{village}-{demand['id']}"
    buyer = {"id": village, "name": village}
    parties: list[dict[str, Any]] = [{**buyer, "roles": ["buyer", "procuringEntity"]}]
    items = [
        {"id": str(i), "description": line["name"] + (f"（{line['spec']}）" if line.get("spec") else ""),
         "quantity": int(line["quantity"]), "unit": {"name": line["unit"], "value": _value(int(line["ceiling_unit_fen"]))}}
        for i, line in enumerate(demand["lines"], 1)
    ]  # fmt: skip
    status = demand["status"]
    tender = {
        "id": demand["id"], "title": demand["title"], "description": f"交货：{demand['delivery_date']}，{demand['place']}",
        "status": TENDER_STATUS.get(status, "complete"), "items": items, "value": _value(int(demand["ceiling_fen"])),
        "procurementMethod": "open", "mainProcurementCategory": "goods", "additionalProcurementCategories": [],
    }  # fmt: skip
    out: dict[str, Any] = {
        "ocid": ocid, "id": f"{ocid}-{demand['updated_at']}", "date": _when(demand["updated_at"]), "tag": ["tender"],
        "initiationType": "tender", "buyer": buyer, "parties": parties, "tender": tender,
    }  # fmt: skip
    award = demand.get("award")
    if award:
        supplier = {"id": str(award["supplier"]["id"]), "name": str(award["supplier"]["name"])}
        parties.append({**supplier, "roles": ["supplier", "tenderer"]})
        out["tag"].append("award")
        out["awards"] = [
            {
                "id": str(award["award_id"]),
                "status": "active",
                "suppliers": [supplier],
                "value": _value(int(award["amount_fen"])),
            }
        ]
        if award.get("bids") is not None:
            out["bids"] = {"statistics": [{"id": "1", "measure": "validBids", "value": int(award["bids"])}]}
        if award.get("bid_details"):
            out.setdefault("bids", {})["details"] = _bid_details(award["bid_details"], supplier, parties)
        contract = demand.get("contract")
        if contract:
            out["tag"].append("contract")
            signed = {"id": str(contract["contract_no"]), "awardID": str(award["award_id"]), "value": _value(int(award["amount_fen"])),
                      "status": "terminated" if status == "paid" else "active", "dateSigned": _day(contract["signed_on"])}  # fmt: skip
            if payments:
                out["tag"].append("implementation")
                signed["implementation"] = {"transactions": [
                    {"id": str(p["entry"]), "date": _day(p["paid_on"]), "value": _value(int(p["amount_fen"])), "payer": buyer, "payee": supplier}
                    for p in payments
                ]}  # fmt: skip
            out["contracts"] = [signed]
    return out


def package(village: str, releases: list[dict[str, Any]], published: str) -> dict[str, Any]:
    """A release package of ``releases`` (``published``: a ledger timestamp, the newest change they hold)."""
    return {
        "uri": f"urn:qinglian:procurement:{quote(village)}:{quote(published)}", "version": VERSION,
        "extensions": [BID_EXTENSION], "publishedDate": _when(published),
        "publisher": {"name": f"{village}村务监督（清廉）"}, "releases": releases,
    }  # fmt: skip
