//! Polish civil time (Europe/Warsaw): CET (+01:00) in winter, CEST (+02:00) from 01:00 UTC
//! on the last Sunday of March to 01:00 UTC on the last Sunday of October (EU rule,
//! Directive 2000/84/EC). KSeF decides "today" (offline mode, `P_1` not in the future) and
//! the night-time limits (20:00–06:00) on this clock.

use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

fn last_sunday(year: i32, month: Month) -> Date {
    let mut d = Date::from_calendar_date(year, month, 31).unwrap_or(Date::MIN);
    while d.weekday() != Weekday::Sunday {
        d = d.previous_day().unwrap_or(d);
    }
    d
}

/// The Warsaw offset in force at the instant `t`.
pub fn warsaw_offset(t: OffsetDateTime) -> UtcOffset {
    let utc = t.to_offset(UtcOffset::UTC);
    let year = utc.year();
    let one = time::Time::from_hms(1, 0, 0).unwrap_or(time::Time::MIDNIGHT);
    let start = last_sunday(year, Month::March).with_time(one).assume_utc();
    let end = last_sunday(year, Month::October)
        .with_time(one)
        .assume_utc();
    let hours = if utc >= start && utc < end { 2 } else { 1 };
    UtcOffset::from_hms(hours, 0, 0).unwrap_or(UtcOffset::UTC)
}

/// `t` on the Warsaw wall clock.
pub fn warsaw(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(warsaw_offset(t))
}

/// The calendar day in Poland at `t`.
pub fn warsaw_today(t: OffsetDateTime) -> Date {
    warsaw(t).date()
}

/// 20:00–06:00 Warsaw time: the hours with higher download limits (limity-api.md §4).
pub fn is_night(t: OffsetDateTime) -> bool {
    let h = warsaw(t).hour();
    !(6..20).contains(&h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn summer_time_moves_midnight_an_hour_earlier_in_utc() {
        // 22:30 UTC on 30 June is already 1 July in Warsaw (CEST, +2)…
        assert_eq!(
            warsaw_today(datetime!(2026-06-30 22:30 UTC)),
            date!(2026 - 07 - 01)
        );
        // …but 22:30 UTC on 1 December is still 1 December (CET, +1).
        assert_eq!(
            warsaw_today(datetime!(2026-12-01 22:30 UTC)),
            date!(2026 - 12 - 01)
        );
        assert_eq!(
            warsaw_today(datetime!(2026-12-01 23:30 UTC)),
            date!(2026 - 12 - 02)
        );
    }

    #[test]
    fn transitions_happen_at_one_utc_on_the_last_sundays() {
        // 2026: 29 March and 25 October.
        assert_eq!(
            warsaw_offset(datetime!(2026-03-29 00:59 UTC)).whole_hours(),
            1
        );
        assert_eq!(
            warsaw_offset(datetime!(2026-03-29 01:00 UTC)).whole_hours(),
            2
        );
        assert_eq!(
            warsaw_offset(datetime!(2026-10-25 00:59 UTC)).whole_hours(),
            2
        );
        assert_eq!(
            warsaw_offset(datetime!(2026-10-25 01:00 UTC)).whole_hours(),
            1
        );
    }

    #[test]
    fn night_is_twenty_to_six_warsaw_time() {
        assert!(is_night(datetime!(2026-12-02 19:00 UTC))); // 20:00 CET
        assert!(!is_night(datetime!(2026-12-02 18:59 UTC)));
        assert!(is_night(datetime!(2026-07-02 03:59 UTC))); // 05:59 CEST
        assert!(!is_night(datetime!(2026-07-02 04:00 UTC))); // 06:00 CEST
    }
}
