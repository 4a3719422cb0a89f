"""统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters whose last is a check character."""

from __future__ import annotations

# The code's alphabet: digits and upper-case letters without I, O, Z, S, V (easily misread).
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def normalise_credit_code(text: str) -> str | None:
    """The code in upper case if it is well formed and its check character holds, else None."""
    code = text.strip().upper()
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return None
    total = sum(ALPHABET.index(c) * w for c, w in zip(code[:17], _WEIGHTS, strict=True))
    return code if ALPHABET[(31 - total % 31) % 31] == code[17] else None
