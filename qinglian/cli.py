"""The ``qinglian`` console script.

Each area of the system owns its subcommands in its own ``cli`` module with a
``register(subparsers)`` function; this module only stitches them together, so
adding a command never touches another area's code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from edge.modules import SECTIONS

# Modules that contribute subcommands, in the order they appear in --help.
COMMAND_MODULES = (
    "hostsim.cli",
    "edge.ledger.cli",
    "edge.ledger.proofcli",
    "tools.cli",
    "edge.cli",
    "edge.ocr.cli",
    "hostsim.ocrcli",  # after edge.ocr.cli: adds `ocr render` to its group
    "edge.web.cli",
    "central.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qinglian", description="清廉 smart seal and village supervision")
    # Every command that reads an edge.toml reads it with each registered part's own table.
    parser.set_defaults(config_sections=SECTIONS)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
