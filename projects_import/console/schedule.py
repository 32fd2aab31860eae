"""What the tenants page says about a tenant's daily batch: when the next one is expected and
whether today's arrived, on the tenant's wall clock (its `schedule_time` on its
`business_days`, ISO weekdays 1 = Monday)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class DailyBatch:
    today_expected: datetime | None  # today's scheduled time, None on a day without a batch
    arrived_today: datetime | None  # the last success when it was today (tenant's date)
    next_expected: datetime  # the next scheduled time after now (today's, if still to come)

    def words(self, late: bool = False) -> str:
        """One sentence: today's batch, then what is expected next."""
        nxt = f"next expected {_day(self.next_expected)} {self.next_expected:%H:%M %Z}"
        if self.today_expected is None:
            return f"no batch expected today; {nxt}"
        due = f"{self.today_expected:%H:%M %Z}"
        if self.arrived_today is not None:
            return f"today's arrived at {self.arrived_today:%H:%M %Z}; {nxt}"
        if self.next_expected == self.today_expected:
            return f"today's is expected at {due}, not arrived yet"
        if late:
            return f"late: today's was expected at {due} and has not arrived; {nxt}"
        return f"today's was expected at {due}, not arrived yet (within the grace time)"


def _day(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d}"


def daily_batch(now: datetime, zone: str, schedule: time, business_days: Sequence[int],
                last_success_at: datetime | None) -> DailyBatch:
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    today = local_now.date()

    def at(day: date) -> datetime:
        return datetime.combine(day, schedule, tzinfo=tz)

    today_expected = at(today) if today.isoweekday() in business_days else None
    arrived = None
    if last_success_at is not None and last_success_at.astimezone(tz).date() == today:
        arrived = last_success_at.astimezone(tz)
    # today's counts as done once it arrived, even before its time (an early export)
    after = at(today) if arrived is not None else local_now
    next_expected = next(at(today + timedelta(days=n)) for n in range(8)
                         if (today + timedelta(days=n)).isoweekday() in business_days
                         and at(today + timedelta(days=n)) > after)
    return DailyBatch(today_expected, arrived, next_expected)
