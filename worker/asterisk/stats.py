"""Counters and a latency histogram for the AMI worker and FastAGI, rendered as Prometheus text."""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(slots=True)
class Histogram:
    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0
    count: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds
        self.count += 1

    def lines(self, name: str, help_text: str) -> list[str]:
        out = [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        running = 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{le="{bound:g}"}} {running}')
        out.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        out += [f"{name}_sum {self.total:.6f}", f"{name}_count {self.count}"]
        return out


@dataclass(slots=True)
class HandlerStats:
    events: int = 0  # UserEvent(Num) received (every server)
    answers: Counter[str] = field(default_factory=Counter)  # NUM_STATUS set, by status
    hangups: int = 0  # the channel was gone before the answer
    duplicates: int = 0  # another worker claimed the event
    rejected: int = 0  # unusable Uniqueid
    timeouts: int = 0
    failures: int = 0  # Asterisk refused a Setvar for another reason
    stale: int = 0  # the AMI session changed before the answer: not sent
    claim_errors: int = 0  # Redis unreachable for a claim: answered anyway
    latency: Histogram = field(default_factory=Histogram)  # event received → NUM_STATUS acknowledged
    agi_sessions: int = 0
    agi_answers: Counter[str] = field(default_factory=Counter)
    agi_aborted: int = 0  # EOF, hang-up or garbage before every variable was set

    def as_dict(self) -> dict[str, object]:
        return {
            "events": self.events,
            "answers": dict(self.answers),
            "hangups": self.hangups,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "timeouts": self.timeouts,
            "failures": self.failures,
            "stale": self.stale,
            "claim_errors": self.claim_errors,
        }

    def fastagi_dict(self) -> dict[str, object]:
        return {"sessions": self.agi_sessions, "answers": dict(self.agi_answers), "aborted": self.agi_aborted}

    def lines(self) -> list[str]:
        out = _counter("numlookup_ami_events_total", "UserEvent(Num) events received", self.events)
        out += [
            "# HELP numlookup_ami_answers_total NUM_STATUS set on a channel, by status",
            "# TYPE numlookup_ami_answers_total counter",
        ]
        out += [f'numlookup_ami_answers_total{{status="{s}"}} {n}' for s, n in sorted(self.answers.items())]
        out += [
            "# HELP numlookup_ami_unanswered_total events not answered, by reason",
            "# TYPE numlookup_ami_unanswered_total counter",
        ]
        for reason in ("hangups", "duplicates", "rejected", "timeouts", "failures", "stale"):
            out.append(f'numlookup_ami_unanswered_total{{reason="{reason}"}} {getattr(self, reason)}')
        out += _counter(
            "numlookup_ami_claim_errors_total",
            "Redis claims that failed (answered anyway)",
            self.claim_errors,
        )
        out += self.latency.lines("numlookup_ami_answer_seconds", "event received to NUM_STATUS acknowledged")
        out += _counter("numlookup_fastagi_sessions_total", "FastAGI sessions", self.agi_sessions)
        out += [
            "# HELP numlookup_fastagi_answers_total FastAGI NUM_STATUS set, by status",
            "# TYPE numlookup_fastagi_answers_total counter",
        ]
        out += [
            f'numlookup_fastagi_answers_total{{status="{s}"}} {n}'
            for s, n in sorted(self.agi_answers.items())
        ]
        out += _counter("numlookup_fastagi_aborted_total", "FastAGI sessions cut short", self.agi_aborted)
        return out


def _counter(name: str, help_text: str, value: int) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
