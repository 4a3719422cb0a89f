"""Every ledger kind the household assembly writes, and its Chinese name (the ledger page, CSV and central show these)."""

from __future__ import annotations

NAME = "household_assembly"


def _kind(what: str) -> str:
    return f"{NAME}.{what}"


REGISTER_IMPORTED = _kind("register_imported")
MEETING_CREATED = _kind("meeting_created")
SUGGESTION_RECORDED = _kind("suggestion_recorded")
DOCUMENTS_POSTED = _kind("documents_posted")
HONOURS_PUBLISHED = _kind("honours_published")
HONOURS_REFUSED = _kind("honours_refused")  # too late: on record as a refusal
NOTICES_RECORDED = _kind("notices_recorded")
SIGNED_IN = _kind("signed_in")
QUESTION_RECORDED = _kind("question_recorded")
TALLY_ENTERED = _kind("tally_entered")  # a paper tally sheet, as the first teller typed it
TALLY_CONFIRMED = _kind("tally_confirmed")  # the second teller typed the same counts
TALLY_MISMATCH = _kind("tally_mismatch")  # the second teller's counts differ: the sheet is counted again
RESULTS_PUBLISHED = _kind("results_published")
TALK_RECORDED = _kind("talk_recorded")
COMMITMENT_MADE = _kind("commitment_made")
COMMITMENT_PROGRESS = _kind("commitment_progress")

KINDS = {
    REGISTER_IMPORTED: "户主大会：导入户籍名册",
    MEETING_CREATED: "户主大会：创建会议",
    SUGGESTION_RECORDED: "户主大会：会前征求意见",
    DOCUMENTS_POSTED: "户主大会：公示年度报告与评选办法",
    HONOURS_PUBLISHED: "户主大会：公示表彰结果",
    HONOURS_REFUSED: "户主大会：表彰结果公示过迟被拒",
    NOTICES_RECORDED: "户主大会：通知到户",
    SIGNED_IN: "户主大会：签到",
    QUESTION_RECORDED: "户主大会：质询与答复",
    TALLY_ENTERED: "户主大会：计票单录入",
    TALLY_CONFIRMED: "户主大会：计票单复核一致",
    TALLY_MISMATCH: "户主大会：计票单复核不一致",
    RESULTS_PUBLISHED: "户主大会：公布评议结果",
    TALK_RECORDED: "户主大会：约谈记录",
    COMMITMENT_MADE: "户主大会：承诺事项",
    COMMITMENT_PROGRESS: "户主大会：承诺进度",
}
