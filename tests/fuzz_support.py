"""Schemathesis driven from its generators, for the JSON APIs fuzzed from their own /openapi.json
(the edge console in test_web_fuzz.py, the central store in test_central_fuzz.py).

Schemathesis's pytest plugin crashes under our pytest, so the operations are walked here: each one gets
positive and negative generated calls through Hypothesis, and every failing operation is reported, not
just the first.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup

#: Generated calls per operation: a short run by default, ``QINGLIAN_FUZZ_EXAMPLES=1000`` for a long one.
EXAMPLES = int(os.environ.get("QINGLIAN_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def operations(base_url: str) -> list[schemathesis.APIOperation]:
    """Every operation ``base_url/openapi.json`` describes."""
    return [result.ok() for result in schemathesis.openapi.from_url(f"{base_url}/openapi.json").get_all_operations()]


def fuzz(
    base_url: str, ops: list[schemathesis.APIOperation], session: Callable[[], AbstractContextManager[requests.Session]]
) -> dict[str, str]:
    """Call each operation ``EXAMPLES`` times with generated input over a fresh ``session()`` (so an operation
    that ends a session ends only its own); what failed, by operation label (empty when all answered as
    described)."""
    failures: dict[str, str] = {}
    for operation in ops:
        cases = st.one_of(*(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)))
        with session() as client:

            @given(case=cases)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def answers_as_described(case: schemathesis.Case) -> None:
                response = case.call(base_url=base_url, session=client, timeout=60)
                case.validate_response(response, checks=CHECKS)

            try:
                answers_as_described()
            # every operation is tried; all that fail are reported together (a FailureGroup is no Exception)
            except (Exception, FailureGroup) as exc:  # noqa: BLE001 - reported below, by operation
                failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    return failures


def report(failures: dict[str, str]) -> str:
    return "\n\n".join(f"{label}\n{why}" for label, why in failures.items())
