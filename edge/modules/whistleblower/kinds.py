"""The ledger kinds the whistleblower module writes, with their Chinese names: declared once, here.

No body of these kinds carries a clue's content in the clear: text, attachments, the reporter's identity,
notes, reasons, feedback and the review meeting's minutes travel only sealed (see ``crypto.py``)."""

from __future__ import annotations

NAME = "whistleblower"

STATION_SET = f"{NAME}.station_set"  # a station and its 1+2+N roster, saved (replaces the roster)
HEAD_KEY = f"{NAME}.head_key"  # the public keys clues are sealed to: the station head's and the township's
CLUE_RECEIVED = f"{NAME}.clue_received"
CLUE_ACKNOWLEDGED = f"{NAME}.clue_acknowledged"
CLUE_VERIFIED = f"{NAME}.clue_verified"
CLUE_RESOLVED = f"{NAME}.clue_resolved"  # confirmed or dismissed, with sealed reasons
CLUE_FEEDBACK = f"{NAME}.clue_feedback"  # the loop's last step: feedback the reporter reads with the code
CLUE_ESCALATED = f"{NAME}.clue_escalated"  # handed straight to the township discipline officer
MESSAGE = f"{NAME}.message"  # reporter <-> station, by receipt code
OVERDUE = f"{NAME}.overdue"  # a step past its deadline, flagged by the tick
REVIEW_MEETING = f"{NAME}.review_meeting"  # monthly 研判会: triages the acknowledged clues it handled
QA_MEETING = f"{NAME}.qa_meeting"  # quarterly 答廉会: its public summary goes on the notice board
MISCONDUCT = f"{NAME}.misconduct"  # a confirmed cover-up or malicious false report by a team member
RATED = f"{NAME}.rated"  # the year's rating run, with its inputs and rules: recomputable
VISIT_PLAN = f"{NAME}.visit_plan"  # the year's 走访计划: households each member is to visit (replaces the year's plan)
VISIT = f"{NAME}.visit"  # a visit made: who, when, how many households (no names, nothing said)

KINDS = {
    STATION_SET: "联络站名册保存", HEAD_KEY: "线索加密公钥登记", CLUE_RECEIVED: "廉情线索收到",
    CLUE_ACKNOWLEDGED: "廉情线索确认收到", CLUE_VERIFIED: "廉情线索核实", CLUE_RESOLVED: "廉情线索办结",
    CLUE_FEEDBACK: "廉情线索反馈", CLUE_ESCALATED: "廉情线索直报乡镇", MESSAGE: "廉情线索留言",
    OVERDUE: "廉情线索逾期", REVIEW_MEETING: "廉情信息研判会", QA_MEETING: "你提我督答廉会",
    MISCONDUCT: "吹哨人失职记录", RATED: "吹哨人年度评定", VISIT_PLAN: "年度走访计划", VISIT: "走访记录",
}  # fmt: skip
