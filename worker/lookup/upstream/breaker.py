"""A circuit breaker per source and process: after ``failures`` failures in a row the source is not asked
for ``reset`` seconds; then one trial request decides (closed again, or open for another ``reset``)."""

from __future__ import annotations

import time
from typing import Final, Literal

State = Literal["closed", "open", "half-open"]
STATE_VALUES: Final[dict[State, int]] = {"closed": 0, "half-open": 1, "open": 2}  # the metric's values


class Breaker:
    def __init__(self, failures: int, reset: float) -> None:
        self.failures = failures
        self.reset = reset
        self.in_a_row = 0
        self.opened_at: float | None = None
        self.trial = False  # a half-open trial request is out
        self.opened = 0  # times it opened, for /metrics

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        return "open" if time.monotonic() - self.opened_at < self.reset else "half-open"

    def allow(self) -> bool:
        """May a request go now? In the half-open state only one trial may be out at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.trial:
            self.trial = True
            return True
        return False

    def succeeded(self) -> None:
        self.in_a_row = 0
        self.opened_at = None
        self.trial = False

    def failed(self) -> None:
        self.in_a_row += 1
        if self.trial or self.in_a_row >= self.failures:
            if self.opened_at is None or self.trial:
                self.opened += 1
            self.opened_at = time.monotonic()
        self.trial = False
