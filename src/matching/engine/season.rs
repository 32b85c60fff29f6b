//! Season contracts from matching: a demand dated in a supply's coming season, before that
//! season has begun, can be met by contracting the harvest instead of ordering from stock.
//! The supply's stock does not limit such an offer (the harvest is not in yet); every other
//! limit of [`edge`] does.

use chrono::{Datelike, Months, NaiveDate};

use super::candidates::{Edge, edge};
use super::model::*;
use crate::catalog::domain::Quantity;

/// The next season of months `season` (inclusive, possibly wrapping the year) seen from
/// `today`: its first and last day. `None` while the season is under way, when stock is what
/// matching offers.
pub fn coming_season(season: (u32, u32), today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let (first, last) = season;
    if !(1..=12).contains(&first) || !(1..=12).contains(&last) {
        return None;
    }
    if in_season(Some(season), today.month()) {
        return None;
    }
    let year = if first > today.month() {
        today.year()
    } else {
        today.year() + 1
    };
    let start = NaiveDate::from_ymd_opt(year, first, 1)?;
    let end_year = if last >= first { year } else { year + 1 };
    // The month after the last, less a day.
    let end = NaiveDate::from_ymd_opt(end_year, last, 1)?
        .checked_add_months(Months::new(1))?
        .pred_opt()?;
    Some((start, end))
}

/// A season contract matching offers: the allocation (quantities in both units at the
/// supply's price) and the delivery window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractOffer {
    pub allocation: Allocation,
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
}

/// The cheapest delivered supply (ties by id) whose coming season holds `deliver_by`, for as
/// much of `demand` as one supply may take in whole steps; `None` when no supply fits or the
/// most one can take is below the demand's minimum fill. The window runs from the season's
/// first day to `deliver_by`.
pub fn contract_offer(
    cats: &Categories,
    params: &Params,
    demand: &Demand,
    deliver_by: NaiveDate,
    supplies: &[Supply],
    today: NaiveDate,
) -> Option<ContractOffer> {
    let wanted = demand.quantity.milli() * base_per_milli(demand.unit);
    let mut best: Option<(i64, i64, usize, Edge, NaiveDate)> = None;
    for (i, s) in supplies.iter().enumerate() {
        let Some((start, end)) = s.season.and_then(|season| coming_season(season, today)) else {
            continue;
        };
        if deliver_by < start || deliver_by > end {
            continue;
        }
        // The harvest is not in: the supply may take the whole demand.
        let mut whole = s.clone();
        whole.available =
            Quantity::from_milli((wanted + base_per_milli(s.unit) - 1) / base_per_milli(s.unit));
        let Some(e) = edge(cats, params, (0, demand), (i, &whole)) else {
            continue;
        };
        let better = best
            .as_ref()
            .is_none_or(|(key, id, ..)| (e.key, s.id) < (*key, *id));
        if better {
            best = Some((e.key, s.id, i, e, start));
        }
    }
    let (_, _, i, e, start) = best?;
    let base = e.cap;
    if base == 0 || base < demand.min_fill.milli() * base_per_milli(demand.unit) {
        return None;
    }
    Some(ContractOffer {
        allocation: super::allocation(demand, &supplies[i], &e, base),
        window_start: start,
        window_end: deliver_by,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::domain::{Grade, Unit};

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_coming_season_starts_on_its_first_month_and_wraps_the_year() {
        let today = day("2026-06-15");
        assert_eq!(
            coming_season((9, 11), today),
            Some((day("2026-09-01"), day("2026-11-30")))
        );
        // Already past this year's start: next year's.
        assert_eq!(
            coming_season((3, 5), today),
            Some((day("2027-03-01"), day("2027-05-31")))
        );
        // Wrapping: November to February, February of the next year.
        assert_eq!(
            coming_season((11, 2), today),
            Some((day("2026-11-01"), day("2027-02-28")))
        );
        // Under way: no coming season to contract.
        assert_eq!(coming_season((5, 8), today), None);
        assert_eq!(coming_season((12, 6), today), None);
        assert_eq!(coming_season((13, 2), today), None);
        // A leap year's February ends on the 29th.
        assert_eq!(
            coming_season((1, 2), day("2027-12-01")),
            Some((day("2028-01-01"), day("2028-02-29")))
        );
    }

    fn demand(quantity_milli: i64, unit: Unit, max_price_fen: i64) -> Demand {
        Demand {
            id: 7,
            category_id: 1,
            min_grade: Grade::Ungraded,
            unit,
            quantity: Quantity::from_milli(quantity_milli),
            min_fill: Quantity::from_milli(0),
            min_lot: Quantity::from_milli(0),
            max_price_fen,
            at: Point::new(30.6, 104.0),
            max_distance_m: 500_000,
            delivery_month: 10,
            prefer_benefit: false,
            excluded: Vec::new(),
        }
    }

    fn supply(id: i64, price_fen: i64, unit: Unit, season: Option<(u32, u32)>) -> Supply {
        Supply {
            id,
            organization_id: id * 10,
            category_id: 1,
            grade: Grade::Special,
            unit,
            available: Quantity::from_milli(0),
            min_order: Quantity::from_milli(0),
            price_fen,
            season,
            at: Point::new(30.7, 104.1),
            benefit_bp: 0,
        }
    }

    #[test]
    fn the_cheapest_coming_season_takes_the_whole_demand_without_stock() {
        let cats = Categories::new([(1, None)]);
        let params = Params::default();
        let today = day("2026-06-15");
        let d = demand(2_000_000, Unit::Jin, 300); // 2000 斤 at most 3 元 a 斤
        let supplies = [
            // Dearer per 斤: 5.8 元 a kilogram is 2.9 元 a 斤.
            supply(1, 580, Unit::Kg, Some((9, 11))),
            supply(2, 250, Unit::Jin, Some((9, 11))),
            // Cheapest, but its season is under way: stock's business, not a contract's.
            supply(3, 100, Unit::Jin, Some((5, 8))),
            // All year: never a coming season.
            supply(4, 120, Unit::Jin, None),
            // Over the price limit.
            supply(5, 310, Unit::Jin, Some((9, 11))),
        ];
        let offer = contract_offer(&cats, &params, &d, day("2026-10-20"), &supplies, today)
            .expect("an offer");
        assert_eq!(offer.allocation.supply_id, 2);
        assert_eq!(offer.allocation.quantity, Quantity::from_milli(2_000_000));
        assert_eq!(
            offer.allocation.supply_quantity,
            Quantity::from_milli(2_000_000)
        );
        assert_eq!(offer.window_start, day("2026-09-01"));
        assert_eq!(offer.window_end, day("2026-10-20"));
        // In kilograms the quantity converts exactly.
        let only_kg = [supplies[0].clone()];
        let offer = contract_offer(&cats, &params, &d, day("2026-10-20"), &only_kg, today)
            .expect("an offer");
        assert_eq!(
            offer.allocation.supply_quantity,
            Quantity::from_milli(1_000_000)
        );
        // A date before the season, or after it, gets nothing.
        assert_eq!(
            contract_offer(&cats, &params, &d, day("2026-08-31"), &supplies, today),
            None
        );
        assert_eq!(
            contract_offer(&cats, &params, &d, day("2026-12-01"), &supplies, today),
            None
        );
    }

    #[test]
    fn exclusions_minimum_fills_and_units_hold() {
        let cats = Categories::new([(1, None)]);
        let params = Params::default();
        let today = day("2026-06-15");
        let by = day("2026-10-01");
        let mut d = demand(2_000_000, Unit::Jin, 300);
        d.excluded = vec![2];
        let supplies = [supply(2, 250, Unit::Jin, Some((9, 11)))];
        assert_eq!(
            contract_offer(&cats, &params, &d, by, &supplies, today),
            None
        );
        // Pieces never meet weights.
        let d = demand(2_000_000, Unit::Piece, 300);
        assert_eq!(
            contract_offer(&cats, &params, &d, by, &supplies, today),
            None
        );
        // A minimum lot larger than the demand leaves nothing.
        let mut s = supplies[0].clone();
        s.min_order = Quantity::from_milli(3_000_000);
        let d = demand(2_000_000, Unit::Jin, 300);
        assert_eq!(contract_offer(&cats, &params, &d, by, &[s], today), None);
    }
}
