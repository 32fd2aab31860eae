"""The tenants page's sentence about the daily batch, on the tenant's clock."""

from __future__ import annotations

from datetime import UTC, datetime, time

from projects_import.console.schedule import daily_batch

ADELAIDE = "Australia/Adelaide"  # ACDT (+10:30) in December
WEEKDAYS = (1, 2, 3, 4, 5)
FIVE_PM = time(17, 0)


def test_monday_afternoon_before_the_batch_says_today_is_still_to_come() -> None:
    now = datetime(2026, 12, 7, 3, 30, tzinfo=UTC)  # Monday 14:00 ACDT
    friday = datetime(2026, 12, 4, 6, 32, tzinfo=UTC)  # Friday 17:02 ACDT
    words = daily_batch(now, ADELAIDE, FIVE_PM, WEEKDAYS, friday).words()
    assert words == "today's is expected at 17:00 ACDT, not arrived yet"


def test_after_today_s_batch_arrived_it_says_when_and_what_is_next() -> None:
    now = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # Monday 17:30 ACDT
    arrived = datetime(2026, 12, 7, 6, 35, tzinfo=UTC)  # 17:05 ACDT
    words = daily_batch(now, ADELAIDE, FIVE_PM, WEEKDAYS, arrived).words()
    assert words == "today's arrived at 17:05 ACDT; next expected Tue 2026-12-08 17:00 ACDT"


def test_late_and_grace_and_weekend() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # Monday 19:30 ACDT, nothing today
    batch = daily_batch(now, ADELAIDE, FIVE_PM, WEEKDAYS, None)
    assert batch.words(late=True) == ("late: today's was expected at 17:00 ACDT and has not "
                                      "arrived; next expected Tue 2026-12-08 17:00 ACDT")
    assert batch.words(late=False).endswith("not arrived yet (within the grace time)")
    friday_night = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # Saturday 12:30 ACDT
    assert daily_batch(friday_night, ADELAIDE, FIVE_PM, WEEKDAYS, None).words() == (
        "no batch expected today; next expected Mon 2026-12-07 17:00 ACDT")


def test_an_early_batch_counts_as_today_s() -> None:
    now = datetime(2026, 12, 7, 5, 40, tzinfo=UTC)  # Monday 16:10 ACDT
    early = datetime(2026, 12, 7, 5, 31, tzinfo=UTC)  # 16:01 ACDT, before 17:00
    words = daily_batch(now, ADELAIDE, FIVE_PM, WEEKDAYS, early).words()
    assert words == "today's arrived at 16:01 ACDT; next expected Tue 2026-12-08 17:00 ACDT"
