"""Counters and a latency histogram for the AMI worker and FastAGI, and their Prometheus metric families.

Handlers bump plain ints and :class:`collections.Counter` entries (one event loop, no locks);
:meth:`HandlerStats.collect` reads them when ``/metrics`` is scraped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from prometheus_client.core import Metric

from worker.metrics import Histogram, bucket_labels, counter, histogram_family

LATENCY_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LATENCY_LE: Final = bucket_labels(LATENCY_BUCKETS, "{:g}".format)  # "1", not "1.0", as it always was
UNANSWERED: Final = ("hangups", "duplicates", "rejected", "timeouts", "failures", "stale")


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
    # event received → NUM_STATUS acknowledged
    latency: Histogram = field(default_factory=lambda: Histogram(LATENCY_BUCKETS))
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

    def collect(self) -> Iterator[Metric]:
        yield counter("numlookup_ami_events", "UserEvent(Num) events received", (), [((), self.events)])
        yield counter(
            "numlookup_ami_answers",
            "NUM_STATUS set on a channel, by status",
            ("status",),
            (((status,), n) for status, n in sorted(self.answers.items())),
        )
        yield counter(
            "numlookup_ami_unanswered",
            "events not answered, by reason",
            ("reason",),
            (((reason,), getattr(self, reason)) for reason in UNANSWERED),
        )
        yield counter(
            "numlookup_ami_claim_errors",
            "Redis claims that failed (answered anyway)",
            (),
            [((), self.claim_errors)],
        )
        yield histogram_family(
            "numlookup_ami_answer_seconds",
            "event received to NUM_STATUS acknowledged",
            LATENCY_LE,
            [((), self.latency)],
        )
        yield counter("numlookup_fastagi_sessions", "FastAGI sessions", (), [((), self.agi_sessions)])
        yield counter(
            "numlookup_fastagi_answers",
            "FastAGI NUM_STATUS set, by status",
            ("status",),
            (((status,), n) for status, n in sorted(self.agi_answers.items())),
        )
        yield counter("numlookup_fastagi_aborted", "FastAGI sessions cut short", (), [((), self.agi_aborted)])
