"""Local time and the calling window: may a call centre ring this number now, in the number's own time?

The default window is the one Federal Law 230-FZ (art. 7 p. 3) sets for debt collection: 08:00–22:00 on
working days, 09:00–20:00 on weekends and non-working public holidays (Labour Code art. 112), each start
inclusive and end exclusive. A number that may be in several zones is callable only when it is callable in
every one of them: a wrong "yes" wakes someone up, a wrong "no" only delays a call.

:class:`Clock` is the one source of "now" for every answer; tests give it a fixed time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from worker.answer.timezones import Zones

MEMO_LIMIT: Final = 4096  # (zone, minute) local times a clock remembers
# Non-working public holidays (Labour Code art. 112), as (month, day): every year.
RUSSIAN_HOLIDAYS: Final = (
    *((1, day) for day in range(1, 9)), (2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hours:
    """Calling hours of one day: from ``start`` (inclusive) to ``end`` (exclusive), local time."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Hours:
        """``"08:00-22:00"`` → Hours; raises ``ValueError`` for anything else."""
        first, sep, last = text.partition("-")
        if not sep:
            raise ValueError(f"calling hours {text!r} are not HH:MM-HH:MM")
        start, end = time.fromisoformat(first.strip()), time.fromisoformat(last.strip())
        if end <= start or start.second or end.second or start.microsecond or end.microsecond:
            raise ValueError(f"calling hours {text!r} are not whole minutes, the end after the start")
        return cls(start, end)

    def allow(self, moment: time) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class CallingWindow:
    working: Hours = Hours(time(8), time(22))
    weekend: Hours = Hours(time(9), time(20))
    weekend_days: frozenset[int] = frozenset({5, 6})  # date.weekday(): Saturday, Sunday
    holidays: frozenset[tuple[int, int]] = frozenset(RUSSIAN_HOLIDAYS)  # (month, day), every year
    holiday_dates: frozenset[date] = frozenset()  # one-off days off (a holiday moved to a Monday)
    working_dates: frozenset[date] = frozenset()  # one-off working days (a Saturday worked instead)

    def hours_on(self, day: date) -> Hours:
        if day in self.working_dates:
            return self.working
        if (
            day.weekday() in self.weekend_days
            or (day.month, day.day) in self.holidays
            or day in self.holiday_dates
        ):
            return self.weekend
        return self.working

    def allows(self, local: datetime) -> bool:
        """Whether ``local`` (a wall-clock time in the number's zone) is inside the window."""
        return self.hours_on(local.date()).allow(local.time())


@dataclass(frozen=True, slots=True)
class LocalTime:
    zone: str
    time: datetime  # aware, in ``zone``, to the minute
    callable: bool
    utc_offset: str  # ``+03:00``, ``-05:00``
    wall_clock: str  # ``2026-12-03 14:05``: what the dialplan's ``NUM_LOCAL_TIME`` holds


def system_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Clock:
    """Now, and the calling window it is judged by.

    Answers change by the minute (calling hours are whole minutes, and so are offset changes), so a local
    time is worked out once per zone and minute and remembered: the v2 hot path pays a dictionary look-up.
    """

    window: CallingWindow = CallingWindow()
    now: Callable[[], datetime] = field(default=system_now)
    _memo: dict[tuple[Zones, int], LocalTime] = field(default_factory=dict, compare=False, repr=False)

    def frozen(self) -> Clock:
        """This clock stopped at its current time: one answer rendered twice reads one "now"."""
        moment = self.now()
        return Clock(self.window, lambda: moment, self._memo)  # the memo is keyed by minute: shared

    def local(self, zones: Zones) -> LocalTime:
        key = (zones, int(self.now().timestamp()) // 60)
        found = self._memo.get(key)
        if found is None:
            if len(self._memo) >= MEMO_LIMIT:
                self._memo.clear()
            found = self._memo[key] = self._local(zones, key[1])
        return found

    def _local(self, zones: Zones, minute: int) -> LocalTime:
        moment = datetime.fromtimestamp(minute * 60, UTC)
        window = self.window
        local = moment.astimezone(zone_info(zones.main))
        allowed = window.allows(local) and all(
            window.allows(moment.astimezone(zone_info(zone))) for zone in zones.all if zone != zones.main
        )
        offset = format_offset(local.utcoffset() or timedelta(0))
        return LocalTime(zones.main, local, allowed, offset, local.strftime("%Y-%m-%d %H:%M"))


@lru_cache(maxsize=256)
def zone_info(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


DEFAULT_CLOCK: Final = Clock()
