"""Login rate limiting's policy, shared by the edge console and the central store (a leaf, as
:mod:`qinglian.passwords`): each attempt is charged to counters (the account from one address, the account over
all, the address) and a counter past its threshold makes its key wait a doubling delay — never a lockout, so a
guesser cannot keep an owner out from another address. Each side keeps the counters in its own database."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoginLimit:
    """One counter a login attempt is charged to, and how many attempts it allows before the backoff."""

    key: str
    threshold: int


def login_delay(attempts: int, threshold: int, backoff_s: float, backoff_max_s: float) -> float:
    """How long a key waits after its ``attempts``-th attempt: nothing below the threshold, then
    ``backoff_s`` doubled for each attempt beyond it, up to ``backoff_max_s`` — a growing delay, never a lockout."""
    if attempts < threshold:
        return 0.0
    return min(backoff_max_s, backoff_s * (2 ** min(attempts - threshold, 30)))


def waiting(blocked_until: float, last_at: float, now: float) -> float:
    """Seconds a key charged at ``last_at`` still waits (≤ 0: none): never more than the delay it was given,
    so a clock stepped back (an NTP correction) does not keep out everyone who tried in the "future"."""
    return float(min(blocked_until - now, blocked_until - last_at))
