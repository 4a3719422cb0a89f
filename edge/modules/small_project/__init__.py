"""限额工程 small projects below the tender limit, as one part of the edge.

A village files a project with a bill of quantities priced from the township's guide-price catalogue (below the
configured limit); three contractors quote: one recommended by the village, two drawn by the township in a way
anyone can re-run (``qinglian projects draw`` / ``verify-draw``); the lowest valid quote wins. See README.md.
"""

from __future__ import annotations

from edge.kernel.contract import Part
from edge.modules.small_project import cli

NAME = "small_project"

SMALL_PROJECT = Part(
    name=NAME,
    title="限额工程",
    kinds={},
    cli=cli.register,
)
