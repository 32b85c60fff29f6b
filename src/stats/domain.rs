//! The pure rules of the statistics: periods, where a sale is counted, how household income is
//! split, and how a late correction is booked. No I/O here.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::domain::{RegionLevel, region_level};

vocabulary! {
    /// Which event a fact counts: an order line placed (a cancellation or refund books a
    /// reversal), or its order completed (the sale happened).
    Basis {
        Placed => "placed", "下单口径", "orders placed";
        Completed => "completed", "成交口径", "sales completed";
    }
}

pub use crate::days::{china, local_date};

/// The instant in UTC when the Beijing day holding `t` began.
pub fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let midnight = local_date(t).and_hms_opt(0, 0, 0).expect("midnight exists");
    (midnight - chrono::Duration::hours(8)).and_utc()
}

/// A date as the integer `yyyymmdd`, the form facts store and filter on.
pub fn day_key(d: NaiveDate) -> i32 {
    d.year() * 10_000 + d.month() as i32 * 100 + d.day() as i32
}

/// The date of a `yyyymmdd` key.
pub fn day_date(key: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(key / 10_000, (key / 100 % 100) as u32, (key % 100) as u32)
}

/// The quarter key (`yyyy * 10 + q`) of a `yyyymmdd` day.
pub fn quarter_of_day(day: i32) -> i32 {
    let month = day / 100 % 100;
    (day / 10_000) * 10 + (month - 1) / 3 + 1
}

/// How long a period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Month,
    Quarter,
    Year,
}

/// A calendar month, quarter or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    Year(i32),
    Quarter(i32, u32),
    Month(i32, u32),
}

impl Period {
    /// Parses `2026`, `2026Q3` (or `2026-Q3`) and `2026-07`.
    pub fn parse(s: &str) -> Option<Period> {
        let s = s.trim();
        let year = |y: &str| {
            y.parse::<i32>()
                .ok()
                .filter(|y| (2000..=2100).contains(y) && y.to_string().len() == 4)
        };
        if let Some((y, q)) = s.split_once('Q').or_else(|| s.split_once('q')) {
            let y = year(y.trim_end_matches('-'))?;
            let q = q.parse::<u32>().ok().filter(|q| (1..=4).contains(q))?;
            return Some(Period::Quarter(y, q));
        }
        if let Some((y, m)) = s.split_once('-') {
            let m = m
                .parse::<u32>()
                .ok()
                .filter(|m| (1..=12).contains(m) && (1..=2).contains(&s.len().saturating_sub(5)))?;
            return Some(Period::Month(year(y)?, m));
        }
        year(s).map(Period::Year)
    }

    /// The quarter of a quarter key `yyyy * 10 + q`.
    pub fn from_quarter_key(key: i32) -> Option<Period> {
        let q = (key % 10) as u32;
        (1..=4).contains(&q).then_some(Period::Quarter(key / 10, q))
    }

    /// The period of this granularity that holds `date`.
    pub fn containing(g: Granularity, date: NaiveDate) -> Period {
        match g {
            Granularity::Year => Period::Year(date.year()),
            Granularity::Quarter => Period::Quarter(date.year(), (date.month() - 1) / 3 + 1),
            Granularity::Month => Period::Month(date.year(), date.month()),
        }
    }

    /// How long this period is.
    pub fn granularity(self) -> Granularity {
        match self {
            Period::Year(_) => Granularity::Year,
            Period::Quarter(..) => Granularity::Quarter,
            Period::Month(..) => Granularity::Month,
        }
    }

    /// The year the period lies in.
    pub fn year(self) -> i32 {
        match self {
            Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) => y,
        }
    }

    /// The quarter key, for quarters.
    pub fn quarter_key(self) -> Option<i32> {
        match self {
            Period::Quarter(y, q) => Some(y * 10 + q as i32),
            _ => None,
        }
    }

    fn first_month(self) -> (i32, u32) {
        match self {
            Period::Year(y) => (y, 1),
            Period::Quarter(y, q) => (y, (q - 1) * 3 + 1),
            Period::Month(y, m) => (y, m),
        }
    }

    /// How many months the period spans.
    pub fn months(self) -> u32 {
        match self {
            Period::Year(_) => 12,
            Period::Quarter(..) => 3,
            Period::Month(..) => 1,
        }
    }

    /// The first month, as `yyyymm`.
    pub fn start_month(self) -> i32 {
        self.start_day() / 100
    }

    /// The last month, as `yyyymm`.
    pub fn end_month(self) -> i32 {
        self.end_day() / 100
    }

    /// The first day, as `yyyymmdd`.
    pub fn start_day(self) -> i32 {
        let (y, m) = self.first_month();
        y * 10_000 + m as i32 * 100 + 1
    }

    /// The last day, as `yyyymmdd` (31 is fine: keys are compared, never turned back into dates).
    pub fn end_day(self) -> i32 {
        let (y, m) = self.first_month();
        let last = m + self.months() - 1;
        y * 10_000 + last as i32 * 100 + 31
    }

    /// The period just before, of the same length.
    pub fn prev(self) -> Period {
        match self {
            Period::Year(y) => Period::Year(y - 1),
            Period::Quarter(y, 1) => Period::Quarter(y - 1, 4),
            Period::Quarter(y, q) => Period::Quarter(y, q - 1),
            Period::Month(y, 1) => Period::Month(y - 1, 12),
            Period::Month(y, m) => Period::Month(y, m - 1),
        }
    }

    /// The period just after, of the same length.
    pub fn next(self) -> Period {
        match self {
            Period::Year(y) => Period::Year(y + 1),
            Period::Quarter(y, 4) => Period::Quarter(y + 1, 1),
            Period::Quarter(y, q) => Period::Quarter(y, q + 1),
            Period::Month(y, 12) => Period::Month(y + 1, 1),
            Period::Month(y, m) => Period::Month(y, m + 1),
        }
    }

    /// True once the whole period lies before `today`.
    pub fn has_ended(self, today: NaiveDate) -> bool {
        day_key(today) > self.end_day()
    }

    /// The `count` periods of this length ending with this one, oldest first.
    pub fn trailing(self, count: usize) -> Vec<Period> {
        let mut out = vec![self];
        for _ in 1..count {
            let before = out[out.len() - 1].prev();
            out.push(before);
        }
        out.reverse();
        out
    }
}

/// A period is sent as it is written: `2026`, `2026Q3`, `2026-07`.
impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Quarter(y, q) => write!(f, "{y}Q{q}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
        }
    }
}

/// The codes of a place at every level, from the code of the place itself. Levels below the
/// place are empty: a sale from a township is counted in no village.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RegionPath {
    pub province: String,
    pub prefecture: String,
    pub county: String,
    pub township: String,
    pub village: String,
}

impl RegionPath {
    /// The path of a valid division code, or `None`.
    pub fn of(code: &str) -> Option<RegionPath> {
        let level = region_level(code)?;
        let at = |l: RegionLevel| -> String {
            if level < l {
                return String::new();
            }
            match l {
                RegionLevel::Province => format!("{}0000", &code[..2]),
                RegionLevel::Prefecture => format!("{}00", &code[..4]),
                RegionLevel::County => code[..6].to_string(),
                RegionLevel::Township => format!("{}000", &code[..9]),
                RegionLevel::Village => code.to_string(),
            }
        };
        Some(RegionPath {
            province: at(RegionLevel::Province),
            prefecture: at(RegionLevel::Prefecture),
            county: at(RegionLevel::County),
            township: at(RegionLevel::Township),
            village: at(RegionLevel::Village),
        })
    }

    /// The code at `level` (empty when the place lies above it).
    pub fn at(&self, level: RegionLevel) -> &str {
        match level {
            RegionLevel::Province => &self.province,
            RegionLevel::Prefecture => &self.prefecture,
            RegionLevel::County => &self.county,
            RegionLevel::Township => &self.township,
            RegionLevel::Village => &self.village,
        }
    }
}

/// The level just below, if any.
pub fn child_level(level: RegionLevel) -> Option<RegionLevel> {
    RegionLevel::from_number(level as i16 + 1)
}

/// The income of registered households out of `amount_fen` of sales, given each household's
/// share in basis points. The whole is `amount × min(Σshares, 100%)`, rounded down to the fen;
/// it is split in proportion to the shares by largest remainder, so the parts add up to the
/// whole exactly and no household is off by more than one fen.
pub fn split_income(amount_fen: i64, shares_bp: &[i32]) -> Vec<i64> {
    let shares: Vec<i128> = shares_bp.iter().map(|s| (*s).max(0) as i128).collect();
    let sum: i128 = shares.iter().sum();
    if sum == 0 || amount_fen <= 0 {
        return vec![0; shares.len()];
    }
    let whole = amount_fen as i128 * sum.min(10_000) / 10_000;
    let mut parts: Vec<i128> = shares.iter().map(|s| whole * s / sum).collect();
    let mut left = whole - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Largest remainder first; ties go to the earlier household so the split is deterministic.
    order.sort_by_key(|&i| (std::cmp::Reverse(whole * shares[i] % sum), i));
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i] > 0 {
            parts[i] += 1;
            left -= 1;
        }
    }
    parts.into_iter().map(|p| p as i64).collect()
}

/// The households' parts of `taken` fen out of a line of `amount` fen whose parts were
/// `parts` (household, fen): each in proportion, rounded down, the fen left over going to the
/// largest remainders (the earlier household on a tie), so the total is the parts' share of
/// `taken` rounded down. Households left with nothing are left out.
pub fn split_like(taken: i64, amount: i64, parts: &[(i64, i64)]) -> Vec<(i64, i64)> {
    if taken <= 0 || amount <= 0 {
        return Vec::new();
    }
    let (taken, amount) = (i128::from(taken.min(amount)), i128::from(amount));
    let sum: i128 = parts.iter().map(|(_, fen)| i128::from(*fen)).sum();
    let whole = taken * sum / amount;
    let mut out: Vec<(i64, i128)> = parts
        .iter()
        .map(|(h, fen)| (*h, taken * i128::from(*fen) / amount))
        .collect();
    let mut left = whole - out.iter().map(|(_, fen)| fen).sum::<i128>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(taken * i128::from(parts[i].1) % amount),
            i,
        )
    });
    for i in order {
        if left == 0 {
            break;
        }
        out[i].1 += 1;
        left -= 1;
    }
    out.into_iter()
        .filter(|(_, fen)| *fen != 0)
        .map(|(h, fen)| (h, fen as i64))
        .collect()
}

/// Each household's part of `a` less its part in `b`; households left with nothing are left
/// out.
pub fn minus(a: &[(i64, i64)], b: &[(i64, i64)]) -> Vec<(i64, i64)> {
    a.iter()
        .map(|(h, fen)| {
            let less: i64 = b.iter().filter(|(x, _)| x == h).map(|(_, f)| f).sum();
            (*h, fen - less)
        })
        .filter(|(_, fen)| *fen != 0)
        .collect()
}

/// The day a fact is booked on: the day it happened, unless that lies in a closed quarter; then
/// the first day after the last closed quarter, so a closed quarter never changes and the
/// correction shows as an adjustment of the next one.
pub fn booking_day(event_day: i32, last_closed_quarter: Option<i32>) -> i32 {
    match last_closed_quarter.and_then(Period::from_quarter_key) {
        Some(closed) if event_day <= closed.end_day() => closed.next().start_day(),
        _ => event_day,
    }
}

/// A change between two periods: the difference and, when the earlier figure is not zero, the
/// change in basis points (rounded toward zero).
pub fn change_bp(current: i64, previous: i64) -> Option<i64> {
    (previous != 0).then(|| ((current - previous) as i128 * 10_000 / previous.abs() as i128) as i64)
}

/// Progress towards a target in basis points (10000 = reached), if a target is set.
pub fn progress_bp(actual: i64, target: i64) -> Option<i64> {
    (target > 0).then(|| (actual.max(0) as i128 * 10_000 / target as i128) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days_begin_at_midnight_in_beijing() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        // 2026-11-30 01:00 in Beijing is 2026-11-29 17:00 UTC.
        assert_eq!(
            day_start(t("2026-11-29T17:00:00Z")),
            t("2026-11-29T16:00:00Z")
        );
        // 2026-11-30 23:59 in Beijing.
        assert_eq!(
            day_start(t("2026-11-30T15:59:00Z")),
            t("2026-11-29T16:00:00Z")
        );
    }

    #[test]
    fn periods_parse_and_print() {
        assert_eq!(Period::parse("2026"), Some(Period::Year(2026)));
        assert_eq!(Period::parse("2026Q3"), Some(Period::Quarter(2026, 3)));
        assert_eq!(Period::parse("2026-Q1"), Some(Period::Quarter(2026, 1)));
        assert_eq!(Period::parse("2026-07"), Some(Period::Month(2026, 7)));
        for bad in [
            "", "26", "2026Q5", "2026Q0", "2026-13", "2026-00", "x", "2026-7x",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        for p in [
            Period::Year(2026),
            Period::Quarter(2026, 4),
            Period::Month(2026, 1),
        ] {
            assert_eq!(Period::parse(&p.to_string()), Some(p));
        }
    }

    #[test]
    fn periods_have_bounds_and_neighbours() {
        let q = Period::Quarter(2026, 1);
        assert_eq!((q.start_day(), q.end_day()), (20260101, 20260331));
        assert_eq!(q.prev(), Period::Quarter(2025, 4));
        assert_eq!(Period::Month(2026, 12).next(), Period::Month(2027, 1));
        assert_eq!(Period::Year(2026).end_day(), 20261231);
        assert_eq!(quarter_of_day(20260701), 20263);
        assert_eq!(
            Period::Month(2026, 2).trailing(3),
            vec![
                Period::Month(2025, 12),
                Period::Month(2026, 1),
                Period::Month(2026, 2)
            ]
        );
    }

    #[test]
    fn beijing_time_decides_the_day() {
        let t = DateTime::parse_from_rfc3339("2026-03-31T17:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(day_key(local_date(t)), 20260401);
    }

    #[test]
    fn region_paths_fill_every_level_down_to_the_place() {
        let p = RegionPath::of("511723102210").unwrap();
        assert_eq!(p.province, "510000");
        assert_eq!(p.prefecture, "511700");
        assert_eq!(p.county, "511723");
        assert_eq!(p.township, "511723102000");
        assert_eq!(p.village, "511723102210");
        let t = RegionPath::of("513326100000").unwrap();
        assert_eq!(
            (t.township.as_str(), t.village.as_str()),
            ("513326100000", "")
        );
        assert_eq!(RegionPath::of("nonsense"), None);
    }

    #[test]
    fn late_facts_go_to_the_first_open_quarter() {
        assert_eq!(booking_day(20260315, None), 20260315);
        assert_eq!(booking_day(20260315, Some(20261)), 20260401);
        assert_eq!(booking_day(20260402, Some(20261)), 20260402);
    }

    #[test]
    fn income_splits_exactly() {
        assert_eq!(split_income(1000, &[1000, 1000]), vec![100, 100]);
        // 100 fen at 3 × 33.33%: 99 fen whole, 33 each.
        assert_eq!(split_income(100, &[3333, 3333, 3333]), vec![33, 33, 33]);
        // One fen to share between two: the earlier household gets it.
        assert_eq!(split_income(10, &[500, 500]), vec![1, 0]);
        assert_eq!(split_income(100, &[]), Vec::<i64>::new());
        // Shares above 100% in total are scaled down to the whole amount.
        assert_eq!(split_income(100, &[8000, 8000]), vec![50, 50]);
    }

    #[test]
    fn changes_and_progress() {
        assert_eq!(change_bp(150, 100), Some(5000));
        assert_eq!(change_bp(50, 100), Some(-5000));
        assert_eq!(change_bp(5, 0), None);
        assert_eq!(progress_bp(50, 200), Some(2500));
        assert_eq!(progress_bp(50, 0), None);
    }

    proptest! {
        #[test]
        fn split_parts_add_up_and_stay_proportional(
            amount in 0i64..10_000_000_000,
            shares in proptest::collection::vec(0i32..=10_000, 0..12),
        ) {
            let parts = split_income(amount, &shares);
            prop_assert_eq!(parts.len(), shares.len());
            let sum: i64 = shares.iter().map(|s| *s as i64).sum();
            let whole = if sum == 0 { 0 } else { (amount as i128 * sum.min(10_000) as i128 / 10_000) as i64 };
            prop_assert_eq!(parts.iter().sum::<i64>(), whole);
            for (p, s) in parts.iter().zip(&shares) {
                prop_assert!(*p >= 0);
                if sum > 0 {
                    let exact = whole as f64 * *s as f64 / sum as f64;
                    prop_assert!((*p as f64 - exact).abs() < 1.0 + 1e-6);
                }
            }
        }

        /// A shortfall takes back no more than each household had, and what a cancellation
        /// then takes back leaves every household at nothing.
        #[test]
        fn a_shortfall_and_the_rest_take_back_each_part_exactly(
            amount in 1i64..10_000_000_000,
            short_of in 0u32..=1000,
            shares in proptest::collection::vec(0i32..=5_000, 0..8),
        ) {
            let parts: Vec<(i64, i64)> = (1i64..)
                .zip(split_income(amount, &shares))
                .filter(|(_, fen)| *fen != 0)
                .collect();
            let taken = (amount as i128 * short_of as i128 / 1000) as i64;
            let short = split_like(taken, amount, &parts);
            let sum = |p: &[(i64, i64)]| p.iter().map(|(_, f)| f).sum::<i64>();
            let whole = sum(&parts) as i128 * taken as i128 / amount as i128;
            prop_assert_eq!(sum(&short) as i128, whole);
            for (h, fen) in &short {
                let had = parts.iter().find(|(x, _)| x == h).map(|(_, f)| *f).unwrap_or(0);
                prop_assert!(*fen > 0 && *fen <= had, "household {} had {} and gave {}", h, had, fen);
            }
            let rest = minus(&parts, &short);
            prop_assert_eq!(sum(&rest) + sum(&short), sum(&parts));
            prop_assert!(rest.iter().all(|(_, f)| *f > 0));
        }

        #[test]
        fn every_day_lies_in_exactly_one_period_of_each_length(
            y in 2000i32..2100, m in 1u32..=12, d in 1u32..=28,
        ) {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let day = day_key(date);
            for g in [Granularity::Month, Granularity::Quarter, Granularity::Year] {
                let p = Period::containing(g, date);
                prop_assert!(p.start_day() <= day && day <= p.end_day());
                prop_assert!(p.prev().end_day() < day && day < p.next().start_day());
            }
            prop_assert_eq!(Period::containing(Granularity::Quarter, date).quarter_key(), Some(quarter_of_day(day)));
        }

        #[test]
        fn a_booked_day_never_falls_in_a_closed_quarter(
            day_y in 2020i32..2030, day_m in 1i32..=12, closed_y in 2020i32..2030, closed_q in 1i32..=4,
        ) {
            let day = day_y * 10_000 + day_m * 100 + 15;
            let closed = closed_y * 10 + closed_q;
            let booked = booking_day(day, Some(closed));
            prop_assert!(quarter_of_day(booked) > closed);
            prop_assert!(booked >= day);
        }
    }
}
