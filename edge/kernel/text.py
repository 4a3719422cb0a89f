"""Text as people type it into a form, checked one way in every part (a leaf: only the kernel's errors).

Normalised to NFC (the same 字 typed on two phones compares equal), trimmed, and refused with a Chinese message
naming the field when it is empty (where required), too long, or holds a control character (a NUL or an escape
sequence would reach the ledger, the CSV exports and the notice board).
"""

from __future__ import annotations

import unicodedata

from edge.kernel.errors import InputError


def line(value: object, what: str, limit: int, required: bool = True) -> str:
    """One line of text: no control characters, at most ``limit`` characters (empty only when not ``required``)."""
    cleaned = unicodedata.normalize("NFC", value if isinstance(value, str) else "").strip()
    if any(unicodedata.category(ch)[0] == "C" for ch in cleaned):
        raise InputError(f"{what}含有控制字符，请重新输入", "bad_text")
    if required and not cleaned:
        raise InputError(f"请填写{what}", "missing_field")
    if len(cleaned) > limit:
        raise InputError(f"{what}过长：最多 {limit} 个字", "bad_text")
    return cleaned


def paragraph(value: object, what: str, limit: int, minimum: int = 1) -> str:
    """Free text over several lines (a reason, a scope): each line as :func:`line`, blank lines dropped, at
    least ``minimum`` characters (0: may be empty) and at most ``limit`` in all."""
    lines = [line(part, what, limit, required=False) for part in (value if isinstance(value, str) else "").splitlines()]
    joined = "\n".join(part for part in lines if part)
    if minimum and not joined:
        raise InputError(f"请填写{what}", "missing_field")
    if len(joined) < minimum:
        raise InputError(f"请写明{what}（至少 {minimum} 个字）", "missing_reason")
    if len(joined) > limit:
        raise InputError(f"{what}过长：最多 {limit} 个字", "bad_text")
    return joined
