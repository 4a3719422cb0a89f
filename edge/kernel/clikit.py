"""What every part's commands share: exit codes, loading the config around a handler, JSON or human output.

Exit codes: 0 done, 1 refused or failed (the error is printed, and with ``--json`` also as
``{"ok": false, "error": {...}}`` on stdout), 2 a usage or configuration problem.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from edge.kernel.config import EdgeConfig, load_config
from edge.kernel.errors import ConfigError, EdgeError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Handler = Callable[[argparse.Namespace, EdgeConfig], Coroutine[Any, Any, int]]


def config_command(handler: Handler) -> Callable[[argparse.Namespace], int]:
    """Load the config, run the handler, turn errors into messages and exit codes.

    The config is read with every registered part's section, ``args.config_sections``, which the ``qinglian``
    script's root parser sets for every command (the kernel does not know the parts): a command of one part
    must read an edge.toml that holds another part's table."""

    def run(args: argparse.Namespace) -> int:
        try:
            config = load_config(args.config, getattr(args, "config_sections", ()))
            return asyncio.run(handler(args, config))
        except ConfigError as exc:
            print_error(args, exc)
            return EXIT_USAGE
        except EdgeError as exc:
            print_error(args, exc)
            return EXIT_FAILED
        except KeyboardInterrupt:
            return EXIT_FAILED

    return run


def print_error(args: argparse.Namespace, exc: EdgeError) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"ok": False, "error": exc.to_dict()}, ensure_ascii=False))
    print(f"错误 error [{exc.code}]: {exc.message}", file=sys.stderr)


def output(args: argparse.Namespace, data: Any, human: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(human)
