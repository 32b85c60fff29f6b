//! 行情: what producers get for their products. Weekly quartiles of unit prices per category and
//! unit, over completed sales and over listings on offer, for a province, prefecture or county;
//! listings priced far from their comparables, flagged for admins; and the hint the listing form
//! gives a producer setting a price.
//!
//! Prices are only compared within one category and one unit (a 斤 of rice beside a 斤 of rice),
//! and every figure is a price somebody actually asked or paid, in fen: the quartiles are taken
//! by nearest rank, never interpolated.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::domain::china;
use super::views::RegionRef;
use crate::catalog::domain::{
    Fen, ListingStatus, RegionLevel, Unit, VerificationStatus, region_level,
};
use crate::catalog::entity::{category, listing, organization, region};
use crate::error::{AppError, AppResult, Validator};
use crate::orders::domain::{OrderStatus, PaymentStatus};
use crate::orders::entity::{order, order_line};

/// How prices spread over a set of observations, all in fen per unit. With `n` prices sorted
/// ascending, the quartile `p` is the price at rank ⌈p·n⌉ (nearest rank), so every figure is one
/// of the prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Spread {
    /// How many prices.
    pub count: i64,
    pub min_fen: Fen,
    pub q1_fen: Fen,
    pub median_fen: Fen,
    pub q3_fen: Fen,
    pub max_fen: Fen,
}

impl Spread {
    /// The spread of `prices` (in any order), or `None` when there are none.
    pub fn of(mut prices: Vec<Fen>) -> Option<Spread> {
        prices.sort_unstable();
        let n = prices.len();
        let at = |quarters: usize| prices[nearest_rank(n, quarters, 4) - 1];
        (n > 0).then(|| Spread {
            count: n as i64,
            min_fen: prices[0],
            q1_fen: at(1),
            median_fen: at(2),
            q3_fen: at(3),
            max_fen: prices[n - 1],
        })
    }
}

/// The rank (1-based) of the `num / den` quantile among `n` sorted values: ⌈n · num / den⌉, at
/// least 1.
pub fn nearest_rank(n: usize, num: usize, den: usize) -> usize {
    (n * num).div_ceil(den).max(1)
}

/// Weeks run Monday to Sunday, Beijing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weeks {
    /// The Monday the first week begins on.
    pub first: NaiveDate,
    pub count: u32,
}

impl Weeks {
    /// The `count` weeks that end with the one holding `until`.
    pub fn ending(until: NaiveDate, count: u32) -> Weeks {
        let monday = monday_of(until);
        Weeks {
            first: monday - Days::new(7 * u64::from(count.saturating_sub(1))),
            count,
        }
    }

    /// The Sunday the last week ends on.
    pub fn last_day(&self) -> NaiveDate {
        self.first + Days::new(7 * u64::from(self.count) - 1)
    }

    /// The instants the weeks begin and end at (the end excluded).
    fn bounds(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            beijing_midnight(self.first),
            beijing_midnight(self.last_day() + Days::new(1)),
        )
    }
}

/// The Monday of the week holding `day`.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Days::new(u64::from(day.weekday().num_days_from_monday()))
}

/// The instant a Beijing day begins.
fn beijing_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(china())
        .single()
        .expect("Beijing time has no gaps")
        .with_timezone(&Utc)
}

/// What a market report covers.
#[derive(Debug, Clone)]
pub struct Market {
    /// The leading digits of the origins (division codes) covered; empty for everywhere.
    origin_prefix: String,
    pub weeks: Weeks,
    /// One category only, when set.
    pub category_id: Option<i64>,
}

impl Market {
    /// The sales and offers from inside region `code` of `level`.
    pub fn in_region(code: &str, level: RegionLevel, weeks: Weeks) -> Market {
        Market {
            origin_prefix: code.chars().take(level.prefix_len()).collect(),
            weeks,
            category_id: None,
        }
    }

    /// The sales and offers of one category only.
    pub fn of_category(self, category_id: i64) -> Market {
        Market {
            category_id: Some(category_id),
            ..self
        }
    }
}

/// One week's completed sales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct WeekSpread {
    /// The Monday the week begins on, `yyyy-mm-dd`.
    pub week: String,
    #[serde(flatten)]
    pub spread: Spread,
}

/// The prices of one category sold in one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PriceSeries {
    pub category_id: i64,
    pub category_slug: String,
    pub category_name: String,
    pub category_name_en: String,
    pub unit: Unit,
    /// Completed sales per week (a line of a completed order whose payment was not refunded,
    /// at the unit price paid, in the week the order was completed); weeks without a sale are
    /// left out.
    pub sales: Vec<WeekSpread>,
    /// The listings on offer now (on sale, not deleted, from approved producers).
    pub offers: Option<Spread>,
}

/// The unit prices of completed sales in `market`, per category, unit and week.
async fn sales(
    db: &impl ConnectionTrait,
    market: &Market,
) -> Result<BTreeMap<(i64, Unit), BTreeMap<NaiveDate, Vec<Fen>>>, DbErr> {
    let (from, to) = market.weeks.bounds();
    let mut q = order_line::Entity::find()
        .select_only()
        .column(order_line::Column::CategoryId)
        .column(order_line::Column::Unit)
        .column(order_line::Column::UnitPriceFen)
        .column(order::Column::CompletedAt)
        .inner_join(order::Entity)
        .filter(order::Column::Status.eq(OrderStatus::Completed))
        .filter(order::Column::PaymentStatus.ne(PaymentStatus::Refunded))
        .filter(order::Column::CompletedAt.gte(from))
        .filter(order::Column::CompletedAt.lt(to))
        .filter(order_line::Column::SellerRegionCode.starts_with(&market.origin_prefix));
    if let Some(c) = market.category_id {
        q = q.filter(order_line::Column::CategoryId.eq(c));
    }
    let rows = q
        .into_tuple::<(i64, Unit, Fen, Option<DateTime<Utc>>)>()
        .all(db)
        .await?;
    let mut by: BTreeMap<(i64, Unit), BTreeMap<NaiveDate, Vec<Fen>>> = BTreeMap::new();
    for (category, unit, price, completed) in rows {
        let Some(at) = completed else { continue };
        let week = monday_of(at.with_timezone(&china()).date_naive());
        by.entry((category, unit))
            .or_default()
            .entry(week)
            .or_default()
            .push(price);
    }
    Ok(by)
}

/// The listings on offer now: on sale, not deleted, from an approved producer.
async fn offered(
    db: &impl ConnectionTrait,
    prefix: &str,
    category_id: Option<i64>,
) -> Result<Vec<(i64, i64, Unit, Fen)>, DbErr> {
    let mut q = listing::Entity::find()
        .select_only()
        .column(listing::Column::Id)
        .column(listing::Column::CategoryId)
        .column(listing::Column::Unit)
        .column(listing::Column::PriceFen)
        .inner_join(organization::Entity)
        .filter(listing::Column::Status.eq(ListingStatus::Active))
        .filter(listing::Column::DeletedAt.is_null())
        .filter(organization::Column::Status.eq(VerificationStatus::Approved))
        .filter(listing::Column::OriginRegionCode.starts_with(prefix))
        .order_by_asc(listing::Column::Id);
    if let Some(c) = category_id {
        q = q.filter(listing::Column::CategoryId.eq(c));
    }
    q.into_tuple().all(db).await
}

/// The market report: for every category and unit with a sale in the weeks or a listing on
/// offer, its weekly spread of sale prices and the spread of prices on offer, in the
/// categories' order.
pub async fn market(db: &impl ConnectionTrait, market: &Market) -> Result<Vec<PriceSeries>, DbErr> {
    let mut sold = sales(db, market).await?;
    let mut offers: BTreeMap<(i64, Unit), Vec<Fen>> = BTreeMap::new();
    for (_, category, unit, price) in offered(db, &market.origin_prefix, market.category_id).await?
    {
        offers.entry((category, unit)).or_default().push(price);
    }
    let mut keys: Vec<(i64, Unit)> = sold.keys().chain(offers.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let categories: BTreeMap<i64, category::Model> = category::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut series: Vec<PriceSeries> = keys
        .into_iter()
        .filter_map(|(category_id, unit)| {
            let c = categories.get(&category_id)?;
            let weeks = sold.remove(&(category_id, unit)).unwrap_or_default();
            Some(PriceSeries {
                category_id,
                category_slug: c.slug.clone(),
                category_name: c.name_zh.clone(),
                category_name_en: c.name_en.clone(),
                unit,
                sales: weeks
                    .into_iter()
                    .filter_map(|(week, prices)| {
                        Some(WeekSpread {
                            week: week.to_string(),
                            spread: Spread::of(prices)?,
                        })
                    })
                    .collect(),
                offers: offers.remove(&(category_id, unit)).and_then(Spread::of),
            })
        })
        .collect();
    series.sort_by_key(|s| {
        let c = &categories[&s.category_id];
        (c.position, c.id, s.unit)
    });
    Ok(series)
}

/// How many other listings a median must be taken over before a price is judged against it.
pub const OUTLIER_MIN_COMPARABLES: usize = 3;

/// How far from the median a price may lie: above this many times it, or below one this-many-th.
pub const OUTLIER_FACTOR: i64 = 3;

/// Which way a price is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Off {
    /// Above 3× the median: a typo, or gouging.
    High,
    /// Below ⅓ of the median: a typo, or dumping.
    Low,
}

/// A listing on offer whose price lies far from the median of its comparables: the listings of
/// the same category and unit on offer elsewhere in the province.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Outlier {
    pub listing_id: i64,
    pub title: String,
    pub organization_id: i64,
    pub category_id: i64,
    pub unit: Unit,
    pub price_fen: Fen,
    /// The median price of the comparable listings (the listing itself left out).
    pub median_fen: Fen,
    /// How many comparable listings the median was taken over.
    pub comparables: i64,
    pub off: Off,
}

/// Whether `price` lies too far from `median` (exact integer comparisons).
pub fn judge(price: Fen, median: Fen) -> Option<Off> {
    if price > OUTLIER_FACTOR * median {
        Some(Off::High)
    } else if price * OUTLIER_FACTOR < median {
        Some(Off::Low)
    } else {
        None
    }
}

/// For each of `prices` (at least two), the median of all the others, in O(n log n): with the
/// price taken out of the sorted list at its first occurrence k, the others' median at rank r is
/// sorted[r - 1] when r - 1 < k and sorted[r] otherwise (equal prices are interchangeable).
pub fn medians_of_others(prices: &[Fen]) -> Vec<Fen> {
    let mut sorted = prices.to_vec();
    sorted.sort_unstable();
    let r = nearest_rank(prices.len() - 1, 1, 2);
    prices
        .iter()
        .map(|price| {
            let k = sorted.partition_point(|p| p < price);
            if r - 1 < k { sorted[r - 1] } else { sorted[r] }
        })
        .collect()
}

/// The listings on offer priced far from their comparables, most off first.
pub async fn outliers(db: &impl ConnectionTrait) -> Result<Vec<Outlier>, DbErr> {
    let all = offered(db, "", None).await?;
    let mut groups: BTreeMap<(i64, Unit), Vec<(i64, Fen)>> = BTreeMap::new();
    for (id, category, unit, price) in all {
        groups
            .entry((category, unit))
            .or_default()
            .push((id, price));
    }
    let mut flagged = Vec::new();
    for ((category_id, unit), members) in &groups {
        let n = members.len();
        if n <= OUTLIER_MIN_COMPARABLES {
            continue;
        }
        let prices: Vec<Fen> = members.iter().map(|(_, p)| *p).collect();
        for ((id, price), median) in members.iter().zip(medians_of_others(&prices)) {
            if let Some(off) = judge(*price, median) {
                flagged.push((*id, *category_id, *unit, *price, median, n - 1, off));
            }
        }
    }
    let ids: Vec<i64> = flagged.iter().map(|f| f.0).collect();
    let about: BTreeMap<i64, (String, i64)> = listing::Entity::find()
        .select_only()
        .column(listing::Column::Id)
        .column(listing::Column::Title)
        .column(listing::Column::OrganizationId)
        .filter(listing::Column::Id.is_in(ids))
        .into_tuple::<(i64, String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, title, org)| (id, (title, org)))
        .collect();
    let mut out: Vec<Outlier> = flagged
        .into_iter()
        .filter_map(|(id, category_id, unit, price_fen, median_fen, n, off)| {
            let (title, organization_id) = about.get(&id)?.clone();
            Some(Outlier {
                listing_id: id,
                title,
                organization_id,
                category_id,
                unit,
                price_fen,
                median_fen,
                comparables: n as i64,
                off,
            })
        })
        .collect();
    // Most off first: the larger of price/median and median/price, compared exactly.
    out.sort_by(|a, b| {
        let ratio = |o: &Outlier| match o.off {
            Off::High => (o.price_fen as i128, o.median_fen.max(1) as i128),
            Off::Low => (o.median_fen as i128, o.price_fen.max(1) as i128),
        };
        let ((an, ad), (bn, bd)) = (ratio(a), ratio(b));
        (bn * ad)
            .cmp(&(an * bd))
            .then(a.listing_id.cmp(&b.listing_id))
    });
    Ok(out)
}

/// How many weeks of sales the listing form's hint looks back over.
pub const HINT_WEEKS: u32 = 4;

/// The spread of what a category sold for in `unit` over the four weeks up to `today`, across
/// the whole market: the hint a producer sees when setting a price. An unknown category is a
/// 422 on `category`.
pub async fn hint(
    db: &impl ConnectionTrait,
    category_id: i64,
    unit: Unit,
    today: NaiveDate,
) -> AppResult<Option<Spread>> {
    if category::Entity::find_by_id(category_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::field(
            "category",
            "unknown",
            "no category has this id",
        ));
    }
    let everywhere = Market {
        origin_prefix: String::new(),
        weeks: Weeks::ending(today, HINT_WEEKS),
        category_id: Some(category_id),
    };
    let prices: Vec<Fen> = sales(db, &everywhere)
        .await?
        .remove(&(category_id, unit))
        .into_iter()
        .flat_map(|weeks| weeks.into_values().flatten())
        .collect();
    Ok(Spread::of(prices))
}

/// The most weeks a report covers: two years.
pub const MAX_WEEKS: u32 = 104;

/// `?region=&category=&weeks=&until=`.
#[derive(Debug, Default, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PriceQuery {
    /// A division code; the province (510000) by default.
    pub region: Option<String>,
    /// A category's slug; every category by default.
    pub category: Option<String>,
    /// How many weeks, 1 to 104; 12 by default.
    pub weeks: Option<u32>,
    /// A day (`yyyy-mm-dd`) in the last week; today (Beijing time) by default.
    pub until: Option<String>,
}

/// The market report of a region.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PriceView {
    pub region: RegionRef,
    pub region_name_en: String,
    /// The Monday of the first week and the Sunday of the last, `yyyy-mm-dd`.
    pub from: String,
    pub to: String,
    pub weeks: u32,
    pub series: Vec<PriceSeries>,
}

/// The province every report defaults to.
pub const DEFAULT_REGION: &str = "510000";

/// Reads the market report `q` asks for, with `today` as the default last day.
pub async fn price_view(
    db: &impl ConnectionTrait,
    q: &PriceQuery,
    today: NaiveDate,
) -> AppResult<PriceView> {
    let mut v = Validator::default();
    let code = q.region.as_deref().unwrap_or(DEFAULT_REGION);
    let level = region_level(code);
    if level.is_none() {
        v.add(
            "region",
            "invalid_format",
            "a division code such as 510000 or 513326",
        );
    }
    let count = q.weeks.unwrap_or(12);
    if !(1..=MAX_WEEKS).contains(&count) {
        v.add(
            "weeks",
            "out_of_range",
            format!("between 1 and {MAX_WEEKS}"),
        );
    }
    let until = match q.until.as_deref() {
        None => Some(today),
        Some(s) => {
            let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            if d.is_none() {
                v.add("until", "invalid_format", "a date such as 2026-12-05");
            }
            d
        }
    };
    let category_id = match q.category.as_deref() {
        None => None,
        Some(slug) => {
            let found = category::Entity::find()
                .filter(category::Column::Slug.eq(slug))
                .one(db)
                .await?;
            if found.is_none() {
                v.add("category", "unknown", "no category has this slug");
            }
            found.map(|c| c.id)
        }
    };
    v.finish()?;
    let (Some(level), Some(until)) = (level, until) else {
        unreachable!("checked above")
    };
    let region = region::Entity::find_by_id(code.to_string())
        .one(db)
        .await?
        .ok_or(AppError::NotFound("region"))?;
    let weeks = Weeks::ending(until, count);
    let mut m = Market::in_region(code, level, weeks);
    if let Some(c) = category_id {
        m = m.of_category(c);
    }
    Ok(PriceView {
        region: RegionRef {
            code: region.code,
            name: region.name,
            name_en: region.name_en.clone(),
            level,
        },
        region_name_en: region.name_en,
        from: weeks.first.to_string(),
        to: weeks.last_day().to_string(),
        weeks: count,
        series: market(db, &m).await?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quartiles_are_prices_at_their_nearest_rank() {
        assert_eq!(Spread::of(vec![]), None);
        let one = Spread::of(vec![500]).unwrap();
        assert_eq!(
            (one.min_fen, one.q1_fen, one.median_fen, one.q3_fen),
            (500, 500, 500, 500)
        );
        // 1..=10: ranks ⌈2.5⌉ = 3, ⌈5⌉ = 5, ⌈7.5⌉ = 8.
        let ten = Spread::of((1..=10).rev().collect()).unwrap();
        assert_eq!(
            (
                ten.count,
                ten.min_fen,
                ten.q1_fen,
                ten.median_fen,
                ten.q3_fen,
                ten.max_fen
            ),
            (10, 1, 3, 5, 8, 10)
        );
        // Four prices: ranks 1, 2, 3.
        let four = Spread::of(vec![40, 10, 30, 20]).unwrap();
        assert_eq!((four.q1_fen, four.median_fen, four.q3_fen), (10, 20, 30));
    }

    #[test]
    fn weeks_begin_on_monday_in_beijing() {
        let thu = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let w = Weeks::ending(thu, 2);
        assert_eq!(w.first, NaiveDate::from_ymd_opt(2026, 11, 23).unwrap());
        assert_eq!(w.last_day(), NaiveDate::from_ymd_opt(2026, 12, 6).unwrap());
        let (from, to) = w.bounds();
        assert_eq!(from.to_rfc3339(), "2026-11-22T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-12-06T16:00:00+00:00");
        let sunday = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(
            monday_of(sunday),
            NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
        );
    }

    #[test]
    fn the_median_of_the_others_is_what_leaving_each_out_gives() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(28);
        for _ in 0..500 {
            let n = rng.gen_range(2..12);
            let prices: Vec<Fen> = (0..n).map(|_| rng.gen_range(1..8)).collect();
            let brute: Vec<Fen> = (0..n)
                .map(|i| {
                    let others = [&prices[..i], &prices[i + 1..]].concat();
                    Spread::of(others).unwrap().median_fen
                })
                .collect();
            assert_eq!(medians_of_others(&prices), brute, "{prices:?}");
        }
    }

    #[test]
    fn a_price_is_judged_against_three_times_the_median_exactly() {
        assert_eq!(judge(300, 100), None);
        assert_eq!(judge(301, 100), Some(Off::High));
        assert_eq!(judge(34, 100), None);
        assert_eq!(judge(33, 100), Some(Off::Low));
        assert_eq!(judge(0, 1), Some(Off::Low));
    }
}
