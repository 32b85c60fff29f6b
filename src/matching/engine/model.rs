//! What the engine works on: demands, supplies, their places and units, and the rules.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::domain::{Fen, Grade, Quantity, Unit};

pub use crate::geo::{EARTH_RADIUS_M, Point, metres};

/// What a purchase request still wants in this round.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    pub id: i64,
    pub category_id: i64,
    /// The lowest grade accepted.
    pub min_grade: Grade,
    pub unit: Unit,
    /// Still wanted.
    pub quantity: Quantity,
    /// The smallest total worth proposing in this round; zero accepts any fill.
    pub min_fill: Quantity,
    /// The smallest quantity worth taking from one listing.
    pub min_lot: Quantity,
    /// Highest acceptable price per unit of the demand, in fen.
    pub max_price_fen: Fen,
    pub at: Point,
    pub max_distance_m: i64,
    /// Month of delivery, 1–12; the supply's season must cover it.
    pub delivery_month: u32,
    /// The buyer asks to prefer producers that benefit registered poor households.
    pub prefer_benefit: bool,
    /// Listings never to propose again for this demand (declined or lapsed pairs).
    pub excluded: Vec<i64>,
}

/// What a listing can still give.
#[derive(Debug, Clone, PartialEq)]
pub struct Supply {
    pub id: i64,
    pub organization_id: i64,
    pub category_id: i64,
    pub grade: Grade,
    pub unit: Unit,
    /// Stock not yet held by an open proposal.
    pub available: Quantity,
    pub min_order: Quantity,
    pub price_fen: Fen,
    /// Months on sale, inclusive, possibly wrapping the year (11, 2); none for all year.
    pub season: Option<(u32, u32)>,
    pub at: Point,
    /// Share of sales income going to registered poor households, in basis points; zero
    /// unless the listing carries a 消费帮扶产品认定 in effect.
    pub benefit_bp: u32,
}

/// Knobs of the cost model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Freight in fen per tonne per kilometre.
    pub freight_fen_per_ton_km: i64,
    /// How much cheaper a producer whose sales all benefit registered households counts,
    /// in basis points of delivered cost, when the buyer prefers them.
    pub benefit_weight_bp: i64,
    /// How many of its cheapest candidates a demand starts with in a batch; as many again
    /// are spread over its dearer ones, and twice that is held in reserve.
    pub candidates_per_demand: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            freight_fen_per_ton_km: 60,
            benefit_weight_bp: 1_000,
            candidates_per_demand: 64,
        }
    }
}

/// One proposed allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub demand_id: i64,
    pub supply_id: i64,
    /// In the demand's unit.
    pub quantity: Quantity,
    /// The same quantity in the supply's unit.
    pub supply_quantity: Quantity,
    /// The supply's price per its unit.
    pub unit_price_fen: Fen,
    pub distance_m: i64,
}

/// The category tree, child to parent.
#[derive(Debug, Clone, Default)]
pub struct Categories {
    pub(super) parent: HashMap<i64, i64>,
    children: BTreeMap<i64, Vec<i64>>,
}

impl Categories {
    /// From (id, parent) pairs.
    pub fn new(pairs: impl IntoIterator<Item = (i64, Option<i64>)>) -> Self {
        let mut c = Categories::default();
        for (id, parent) in pairs {
            if let Some(p) = parent {
                c.parent.insert(id, p);
                c.children.entry(p).or_default().push(id);
            }
        }
        for kids in c.children.values_mut() {
            kids.sort_unstable();
        }
        c
    }

    /// True when `category` is `ancestor` or lies below it.
    pub fn within(&self, category: i64, ancestor: i64) -> bool {
        let mut c = category;
        for _ in 0..64 {
            if c == ancestor {
                return true;
            }
            match self.parent.get(&c) {
                Some(&p) => c = p,
                None => return false,
            }
        }
        false
    }

    /// `category` and every category above it.
    pub fn ancestors(&self, category: i64) -> Vec<i64> {
        let mut out = vec![category];
        while out.len() < 64 {
            match self.parent.get(out.last().expect("never empty")) {
                Some(&p) => out.push(p),
                None => break,
            }
        }
        out
    }

    /// `category` and everything below it.
    pub fn subtree(&self, category: i64) -> Vec<i64> {
        let mut out = vec![category];
        let mut i = 0;
        while i < out.len() && out.len() < 10_000 {
            if let Some(kids) = self.children.get(&out[i]) {
                out.extend(kids.iter().copied());
            }
            i += 1;
        }
        out
    }
}

/// Base steps in one thousandth of `unit`: weights in half-grams, pieces in thousandths.
pub fn base_per_milli(unit: Unit) -> i64 {
    match unit {
        Unit::Jin => 1,
        Unit::Kg => 2,
        Unit::Ton => 2_000,
        Unit::Piece => 1,
    }
}

pub(super) fn is_weight(unit: Unit) -> bool {
    unit != Unit::Piece
}

/// The smallest step an allocation between these units can move by, in base steps.
pub fn step(demand: Unit, supply: Unit) -> i64 {
    if demand == Unit::Piece || supply == Unit::Piece {
        1_000
    } else {
        base_per_milli(demand).max(base_per_milli(supply))
    }
}

/// True when a supply's price per its unit is within a demand's limit per the demand's unit.
pub fn price_within(supply_price: Fen, supply: Unit, max_price: Fen, demand: Unit) -> bool {
    // price / supply_base <= max / demand_base, cross-multiplied in i128.
    i128::from(supply_price) * i128::from(base_per_milli(demand))
        <= i128::from(max_price) * i128::from(base_per_milli(supply))
}

/// True when a season (inclusive months, possibly wrapping) covers `month`.
pub fn in_season(season: Option<(u32, u32)>, month: u32) -> bool {
    match season {
        None => true,
        Some((start, end)) if start <= end => (start..=end).contains(&month),
        Some((start, end)) => month >= start || month <= end,
    }
}
