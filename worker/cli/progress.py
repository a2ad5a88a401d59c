"""The one progress display of the CLI's long commands (imports, downloads), on tqdm."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from tqdm import tqdm


class Progress:
    """Progress of a long command on stderr: a tqdm bar per stage (rate, ETA) on a terminal; off one (logs,
    systemd) a line per finished download and the closing :meth:`finish` line.

    Fits both progress callbacks: an import's ``(stage, rows done, rows in all)`` and a download's
    ``(file, bytes so far, bytes expected or None)``.
    """

    def __init__(self, stream: TextIO | None = None, *, unit: str = "rows") -> None:
        self.stream = stream or sys.stderr
        self.unit = unit
        self.live = self.stream.isatty()
        self.bar: tqdm[Any] | None = None
        self.stage = ""
        self.started = time.monotonic()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        bar = self.bar
        if bar is None or stage != self.stage:
            self._close_bar()
            self.stage = stage
            bar = self.bar = tqdm(
                total=total,
                desc=stage,
                unit=self.unit,
                unit_scale=self.unit == "B",
                file=self.stream,
                disable=not self.live,
                leave=False,
                mininterval=0.25,
            )
        bar.update(done - bar.n)
        if not self.live and self.unit == "B" and total is not None and done >= total:
            self.stream.write(f"{stage}: {done:,} bytes downloaded\n")

    def finish(self, message: str) -> None:
        self._close_bar()
        self.stream.write(f"{message} in {time.monotonic() - self.started:.1f} s\n")
        self.stream.flush()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
