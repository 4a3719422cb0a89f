"""A progress bar for the technician's terminal: one line per step, a bar for the long ones."""

from __future__ import annotations

import sys
from typing import TextIO

_WIDTH = 28


class Progress:
    def __init__(self, steps: int, stream: TextIO = sys.stderr) -> None:
        self._steps = steps
        self._step = 0
        self._stream = stream
        self._live = stream.isatty()  # redraw in place on a terminal; plain lines in a log
        self._bar_open = False  # a live bar is on the current line

    def step(self, label: str) -> None:
        self._finish_bar()
        self._step += 1
        self._stream.write(f"[{self._step}/{self._steps}] {label}\n")
        self._stream.flush()

    def bar(self, done: int, total: int, note: str = "") -> None:
        filled = _WIDTH * done // max(total, 1)
        line = f"      [{'#' * filled}{'.' * (_WIDTH - filled)}] {done}/{total} {note}"
        if self._live:
            self._stream.write("\r" + line.ljust(_WIDTH + 60))
            self._bar_open = True
        elif done == total or done == 1:
            self._stream.write(line + "\n")
        self._stream.flush()

    def _finish_bar(self) -> None:
        if self._bar_open:
            self._stream.write("\n")
            self._bar_open = False

    def done(self, message: str) -> None:
        self._finish_bar()
        self._stream.write(f"✓ {message}\n")
        self._stream.flush()
