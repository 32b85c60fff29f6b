//! Freight, computed from a method and its rate table alone: no I/O, so a quote can be
//! reproduced from the snapshot an order keeps.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::domain::Unit;
use crate::division::region_contains;

vocabulary! {
    /// How a seller gets goods to a buyer.
    MethodKind {
        Express => "express", "快递", "express";
        Own => "own", "自送", "own delivery";
        Pickup => "pickup", "自提点", "pickup point";
        Warehouse => "warehouse", "集采仓", "consolidation warehouse";
    }
}

/// One row of an express rate table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rate {
    /// The destination province's code; empty for every province without a row of its own.
    pub province_code: String,
    /// The first weight (首重) in grams, charged `first_fee_fen` whatever it weighs below.
    pub first_weight_g: i64,
    pub first_fee_fen: i64,
    /// Each further step (续重) in grams, or part of one, costs `step_fee_fen`.
    pub step_weight_g: i64,
    pub step_fee_fen: i64,
}

/// What a method charges and where it goes, as a quote reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terms {
    pub kind: MethodKind,
    pub cold_chain: bool,
    pub fee_fen: i64,
    pub cold_surcharge_fen: i64,
    pub area: Vec<String>,
    pub radius_km: Option<i32>,
    pub min_weight_g: i64,
    pub rates: Vec<Rate>,
}

/// What one order sends: its weight (unknown when a piece has no weight recorded) and
/// whether anything in it needs the cold chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parcel {
    pub weight_g: Option<i64>,
    pub cold: bool,
}

impl Parcel {
    /// Adds a line of `milli` thousandths of `unit`; `piece_weight_g` weighs a piece.
    pub fn add(&mut self, unit: Unit, milli: i64, piece_weight_g: Option<i64>, cold: bool) {
        let grams_per_unit = match unit {
            Unit::Jin => Some(500),
            Unit::Kg => Some(1_000),
            Unit::Ton => Some(1_000_000),
            Unit::Piece => piece_weight_g,
        };
        let line = grams_per_unit.map(|g| {
            // Exact: a part of a gram counts as a whole one.
            let milligrams = i128::from(milli) * i128::from(g);
            i64::try_from((milligrams + 999) / 1000).unwrap_or(i64::MAX)
        });
        self.weight_g = match (self.weight_g, line) {
            (Some(a), Some(b)) => Some(a.saturating_add(b)),
            _ => None,
        };
        self.cold |= cold;
    }

    /// An empty parcel, to which lines are added.
    pub fn empty() -> Parcel {
        Parcel {
            weight_g: Some(0),
            cold: false,
        }
    }
}

/// Where the goods go: the address's division code, and how far it is from the seller when
/// both places are known.
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    pub region_code: &'a str,
    pub distance_m: Option<i64>,
}

/// Why a method cannot carry a parcel to a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unfit {
    /// Something in the parcel needs the cold chain, and the method has none.
    ColdChainRequired,
    /// The destination lies outside the regions and radius the seller delivers to.
    OutsideArea,
    /// The rate table has no row for the destination's province.
    NoRate,
    /// A piece in the parcel has no weight recorded, and the method charges by weight.
    WeightUnknown,
    /// Below the warehouse's smallest lot.
    BelowMinimumWeight,
}

impl Unfit {
    /// Every reason.
    pub const ALL: [Unfit; 5] = [
        Unfit::ColdChainRequired,
        Unfit::OutsideArea,
        Unfit::NoRate,
        Unfit::WeightUnknown,
        Unfit::BelowMinimumWeight,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Unfit::ColdChainRequired => "cold_chain_required",
            Unfit::OutsideArea => "outside_area",
            Unfit::NoRate => "no_rate",
            Unfit::WeightUnknown => "weight_unknown",
            Unfit::BelowMinimumWeight => "below_minimum_weight",
        }
    }

    /// Why, in English, for the API's message.
    pub fn reason(self) -> &'static str {
        match self {
            Unfit::ColdChainRequired => "the order holds goods that need the cold chain",
            Unfit::OutsideArea => "the address is outside the area this method delivers to",
            Unfit::NoRate => "the rate table has no row for the address's province",
            Unfit::WeightUnknown => "a piece in the order has no weight recorded",
            Unfit::BelowMinimumWeight => "the order weighs less than the smallest lot taken",
        }
    }
}

/// A freight charge and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Quote {
    pub fee_fen: i64,
    /// The parcel's weight in grams, when known.
    pub weight_g: Option<i64>,
    pub cold: bool,
    /// The rate-table row an express fee was taken from.
    pub rate: Option<Rate>,
    /// How many steps beyond the first weight were charged.
    pub steps: i64,
    /// The cold-chain surcharge included in `fee_fen`.
    pub cold_surcharge_fen: i64,
}

/// The rate-table row for a destination: its province's own, else the table's default row.
pub fn rate_for<'r>(rates: &'r [Rate], region_code: &str) -> Option<&'r Rate> {
    let province = region_code.get(..2).unwrap_or_default();
    rates
        .iter()
        .find(|r| !r.province_code.is_empty() && r.province_code.get(..2) == Some(province))
        .or_else(|| rates.iter().find(|r| r.province_code.is_empty()))
}

/// What `terms` charge to take `parcel` to `to`, or why they cannot.
pub fn quote(terms: &Terms, parcel: Parcel, to: Destination<'_>) -> Result<Quote, Unfit> {
    if parcel.cold && !terms.cold_chain {
        return Err(Unfit::ColdChainRequired);
    }
    let flat = |fee_fen| Quote {
        fee_fen,
        weight_g: parcel.weight_g,
        cold: parcel.cold,
        rate: None,
        steps: 0,
        cold_surcharge_fen: 0,
    };
    match terms.kind {
        MethodKind::Pickup => Ok(flat(terms.fee_fen)),
        MethodKind::Own => {
            let in_area = terms
                .area
                .iter()
                .any(|code| region_contains(code, to.region_code));
            let near = match (terms.radius_km, to.distance_m) {
                (Some(km), Some(m)) => m <= i64::from(km) * 1000,
                _ => false,
            };
            if in_area || near {
                Ok(flat(terms.fee_fen))
            } else {
                Err(Unfit::OutsideArea)
            }
        }
        MethodKind::Warehouse => {
            let weight = parcel.weight_g.ok_or(Unfit::WeightUnknown)?;
            if weight < terms.min_weight_g {
                return Err(Unfit::BelowMinimumWeight);
            }
            Ok(flat(terms.fee_fen))
        }
        MethodKind::Express => {
            let weight = parcel.weight_g.ok_or(Unfit::WeightUnknown)?;
            let rate = rate_for(&terms.rates, to.region_code).ok_or(Unfit::NoRate)?;
            let beyond = (weight - rate.first_weight_g).max(0);
            let steps = if rate.step_weight_g > 0 {
                (beyond + rate.step_weight_g - 1) / rate.step_weight_g
            } else {
                0
            };
            let surcharge = if parcel.cold {
                terms.cold_surcharge_fen
            } else {
                0
            };
            Ok(Quote {
                fee_fen: rate
                    .first_fee_fen
                    .saturating_add(steps.saturating_mul(rate.step_fee_fen))
                    .saturating_add(surcharge),
                weight_g: Some(weight),
                cold: parcel.cold,
                rate: Some(rate.clone()),
                steps,
                cold_surcharge_fen: surcharge,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn express(rates: Vec<Rate>) -> Terms {
        Terms {
            kind: MethodKind::Express,
            cold_chain: true,
            fee_fen: 0,
            cold_surcharge_fen: 500,
            area: Vec::new(),
            radius_km: None,
            min_weight_g: 0,
            rates,
        }
    }

    fn rate(province: &str, first_g: i64, first: i64, step_g: i64, step: i64) -> Rate {
        Rate {
            province_code: province.into(),
            first_weight_g: first_g,
            first_fee_fen: first,
            step_weight_g: step_g,
            step_fee_fen: step,
        }
    }

    fn to(code: &str) -> Destination<'_> {
        Destination {
            region_code: code,
            distance_m: None,
        }
    }

    #[test]
    fn express_charges_the_first_weight_and_each_step_begun() {
        let t = express(vec![
            rate("510000", 1000, 800, 1000, 200),
            rate("", 1000, 1200, 500, 300),
        ]);
        let mut p = Parcel::empty();
        p.add(Unit::Jin, 5_000, None, false); // 5 斤 = 2 500 g
        let q = quote(&t, p, to("511723")).unwrap();
        assert_eq!(
            (q.fee_fen, q.steps, q.weight_g),
            (800 + 2 * 200, 2, Some(2500))
        );
        // Elsewhere the default row: 1 500 g beyond the first kilogram is 3 half-kilo steps.
        let q = quote(&t, p, to("330110")).unwrap();
        assert_eq!(q.fee_fen, 1200 + 3 * 300);
        // Cold goods pay the surcharge.
        p.cold = true;
        assert_eq!(quote(&t, p, to("511723")).unwrap().fee_fen, 1200 + 500);
    }

    #[test]
    fn a_method_says_why_it_cannot_carry_a_parcel() {
        let mut p = Parcel::empty();
        p.add(Unit::Piece, 2_000, None, true);
        let mut t = express(vec![rate("510000", 1000, 800, 1000, 200)]);
        assert_eq!(quote(&t, p, to("511723")), Err(Unfit::WeightUnknown));
        t.cold_chain = false;
        assert_eq!(quote(&t, p, to("511723")), Err(Unfit::ColdChainRequired));
        let mut p = Parcel::empty();
        p.add(Unit::Kg, 1_000, None, false);
        let t = express(vec![rate("510000", 1000, 800, 1000, 200)]);
        assert_eq!(quote(&t, p, to("330110")), Err(Unfit::NoRate));
        let own = Terms {
            kind: MethodKind::Own,
            area: vec!["513326".into()],
            radius_km: Some(30),
            ..express(vec![])
        };
        assert!(quote(&own, p, to("513326100000")).is_ok());
        assert_eq!(quote(&own, p, to("513336")), Err(Unfit::OutsideArea));
        let near = Destination {
            region_code: "513336",
            distance_m: Some(29_999),
        };
        assert!(quote(&own, p, near).is_ok());
        let warehouse = Terms {
            kind: MethodKind::Warehouse,
            min_weight_g: 500_000,
            ..express(vec![])
        };
        assert_eq!(
            quote(&warehouse, p, to("510104")),
            Err(Unfit::BelowMinimumWeight)
        );
    }

    proptest! {
        /// The fee is the first fee plus a step fee for every step begun, never less than the
        /// parcel needs nor a whole step more.
        #[test]
        fn express_fees_cover_the_weight_within_one_step(
            first_g in 1i64..5_000, first in 0i64..5_000, step_g in 1i64..5_000,
            step in 0i64..2_000, lines in proptest::collection::vec((0usize..4, 1i64..5_000_000), 1..6),
        ) {
            let t = express(vec![rate("", first_g, first, step_g, step)]);
            let mut p = Parcel::empty();
            for (u, milli) in &lines {
                let unit = [Unit::Jin, Unit::Kg, Unit::Ton, Unit::Piece][*u];
                p.add(unit, *milli, Some(750), false);
            }
            let w = p.weight_g.unwrap();
            let q = quote(&t, p, to("510104")).unwrap();
            prop_assert_eq!(q.fee_fen, first + q.steps * step);
            prop_assert!(first_g + q.steps * step_g >= w);
            prop_assert!(q.steps == 0 || first_g + (q.steps - 1) * step_g < w);
        }
    }
}
