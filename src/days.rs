//! The calendar people live by: China Standard Time, whose dates every deadline, validity
//! and period follows.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// China Standard Time, the time of every date and hour people see.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// The date in Beijing at `t`: day boundaries follow Beijing time.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}
