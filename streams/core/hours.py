"""Opening hours of a resource, as its source states them: always open, a weekly timetable in the operator's
time zone, or unknown (None). Parsed once when the lexicon loads; `is_open` runs at most once a minute per
country (the decider memoizes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Hours:
    always: bool
    zone: ZoneInfo | None = None
    spans: tuple[tuple[int, int, int], ...] = ()  # (weekday 0 = Monday, from minute, to minute), to > from

    def is_open(self, now_ms: int) -> bool:
        if self.always:
            return True
        local = datetime.fromtimestamp(now_ms / 1000, self.zone)
        minute = local.hour * 60 + local.minute
        day = local.weekday()
        return any(d == day and start <= minute < end for d, start, end in self.spans)


ALWAYS = Hours(always=True)


def parse_hours(raw: Any) -> Hours | None:
    """`"24/7"`, `{"tz": "Europe/Rome", "weekly": [{"days": "mon-fri", "from": "10:00", "to": "24:00"}]}` or
    None (unknown). Raises ValueError saying what is wrong."""
    if raw is None:
        return None
    if raw == "24/7":
        return ALWAYS
    try:
        zone = ZoneInfo(raw["tz"])
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw['tz']!r}") from None
    spans: list[tuple[int, int, int]] = []
    for span in raw["weekly"]:
        start, end = _minute(span["from"]), _minute(span["to"])
        if end <= start:
            raise ValueError(f"{span['from']}-{span['to']}: a span past midnight is written as two spans")
        spans += [(day, start, end) for day in _days(span["days"])]
    return Hours(always=False, zone=zone, spans=tuple(spans))


def _minute(clock: str) -> int:
    hours, _, minutes = clock.partition(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60 or int(minutes) >= 60:
        raise ValueError(f"{clock!r} is not a time of day")
    return value


def _days(spec: str) -> list[int]:
    days: list[int] = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{spec!r}: days are {', '.join(DAYS)} or ranges such as mon-fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days += list(range(a, b + 1)) if a <= b else [*range(a, 7), *range(0, b + 1)]
    return days
