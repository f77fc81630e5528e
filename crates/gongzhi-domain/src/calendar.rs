//! A working-day calendar that knows weekends, public holidays and make-up working days
//! (调休), read from yearly data files an admin can edit.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("calendar file is not valid TOML")]
    Syntax(#[from] toml::de::Error),
    #[error("calendar for {year}: {date} is listed as both a holiday and a working day")]
    Contradiction { year: i32, date: NaiveDate },
    #[error("calendar for {year}: {date} is outside that year")]
    WrongYear { year: i32, date: NaiveDate },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    #[serde(default)]
    holiday: Vec<HolidayEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayEntry {
    #[allow(
        dead_code,
        reason = "the name documents the data file; nothing reads it"
    )]
    name: String,
    #[serde(default)]
    off: Vec<NaiveDate>,
    #[serde(default)]
    work: Vec<NaiveDate>,
}

/// Working days in one time zone offset (Asia/Shanghai has no daylight saving, so a fixed
/// offset is exact).
#[derive(Debug, Clone)]
pub struct Calendar {
    offset: FixedOffset,
    holidays: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
}

impl Calendar {
    /// A calendar with weekends only; add years with `load_year`.
    pub fn new(offset: FixedOffset) -> Self {
        Self {
            offset,
            holidays: BTreeSet::new(),
            make_up_days: BTreeSet::new(),
            years: BTreeSet::new(),
        }
    }

    /// China Standard Time, +08:00.
    pub fn china() -> Self {
        Self::new(FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset"))
    }

    pub fn offset(&self) -> FixedOffset {
        self.offset
    }

    /// Adds one year's holidays and make-up working days from the text of a data file.
    pub fn load_year(&mut self, text: &str) -> Result<i32, CalendarError> {
        let file: YearFile = toml::from_str(text)?;
        let year = file.year;
        for entry in &file.holiday {
            for date in entry.off.iter().chain(&entry.work) {
                if date.year() != year {
                    return Err(CalendarError::WrongYear { year, date: *date });
                }
            }
            for date in &entry.off {
                if entry.work.contains(date) || self.make_up_days.contains(date) {
                    return Err(CalendarError::Contradiction { year, date: *date });
                }
                self.holidays.insert(*date);
            }
            for date in &entry.work {
                if self.holidays.contains(date) {
                    return Err(CalendarError::Contradiction { year, date: *date });
                }
                self.make_up_days.insert(*date);
            }
        }
        self.years.insert(year);
        Ok(year)
    }

    /// Whether holidays are known for `year`; outside them only weekends count.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_days.contains(&date) {
            return true;
        }
        if self.holidays.contains(&date) {
            return false;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        loop {
            day = day + Days::new(1);
            if self.is_working_day(day) {
                return day;
            }
        }
    }

    /// `days` working days after `start`, at the same local time of day. A clock started
    /// on a rest day starts at 00:00 of the next working day, so "1 working day" from a
    /// Saturday ends at the end of Monday.
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let local = start.with_timezone(&self.offset);
        let (mut date, time) = if self.is_working_day(local.date_naive()) {
            (local.date_naive(), local.time())
        } else {
            (self.next_working_day(local.date_naive()), NaiveTime::MIN)
        };
        for _ in 0..days {
            date = self.next_working_day(date);
        }
        self.offset
            .from_local_datetime(&date.and_time(time))
            .single()
            .expect("a fixed offset maps every local time exactly once")
            .with_timezone(&Utc)
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.offset).date_naive()
    }
}
