"""``qinglian assembly tally --meeting FILE.json [--json]``: recompute a meeting's published result from a file.

The same pure function (``rules.tally_meeting``) that the console publishes with, so anyone holding the
figures can check the published rates. Exit 0 with the result; exit 2 with a clear message on bad input (a
cadre with more ballots than households signed in, a signed-in id that is not a household, a broken file).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge.kernel.clikit import EXIT_OK, EXIT_USAGE, output, print_error
from edge.kernel.errors import InputError
from edge.modules.household_assembly.rules import RuleError, tally_meeting

_MAX_FILE_BYTES = 50 << 20


def _tally(args: argparse.Namespace) -> int:
    path: Path = args.meeting
    try:
        if path.stat().st_size > _MAX_FILE_BYTES:
            raise RuleError(f"会议文件过大（超过 {_MAX_FILE_BYTES >> 20} MB）")
        data = json.loads(path.read_text(encoding="utf-8"))
        result = tally_meeting(data)
    except OSError as exc:
        print_error(args, InputError(f"无法读取会议文件 cannot read {path}: {exc.strerror or exc}", "bad_input"))
        return EXIT_USAGE
    except (ValueError, RecursionError) as exc:  # RuleError, bad JSON, bad UTF-8
        message = exc.message if isinstance(exc, RuleError) else f"会议文件不是有效的 JSON not valid JSON: {exc}"
        print_error(args, InputError(message, "bad_input"))
        return EXIT_USAGE
    lines = [f"到会率 attendance {result['attendance_rate']}%"]
    for c in result["cadres"]:
        flag = "  低于警戒线 flagged" if c["flagged"] else ""
        lines.append(f"{c['cadre']}: {c['ballots']} 票 满意率 {c['satisfaction_rate']}%{flag}")
    output(args, result, "\n".join(lines))
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    group = subparsers.add_parser("assembly", help="户主大会 household assembly")
    actions = group.add_subparsers(dest="assembly_command", required=True, metavar="ACTION")
    tally = actions.add_parser(
        "tally", help="由会议文件计算到会率与满意率 attendance and satisfaction rates from a meeting file"
    )
    tally.add_argument("--meeting", type=Path, required=True, metavar="FILE.json")
    tally.add_argument("--json", action="store_true")
    tally.set_defaults(func=_tally)
