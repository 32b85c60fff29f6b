//! Which supplies a demand may take from, at what cost and in which steps, and the
//! candidates each demand starts with and keeps in reserve.

use std::collections::HashMap;

use super::model::*;
use crate::catalog::domain::{Fen, Grade, Unit};

/// A supply's terms as matching reads them, in base steps where they are quantities. The
/// market keeps a copy of each next to its neighbours on the grid, so that a scan reads
/// memory in order.
#[derive(Debug, Clone, Copy)]
struct Terms {
    pub(super) xyz: [f64; 3],
    pub(super) id: i64,
    pub(super) price_fen: Fen,
    /// The price part of the cost key: thousandths of a fen per kilogram (or per piece).
    price_key: i64,
    pub(super) stock: i64,
    pub(super) min_order: i64,
    pub(super) season: Option<(u32, u32)>,
    /// The supply's index in the market.
    pub(super) index: u32,
    pub(super) benefit_bp: u32,
    pub(super) grade: Grade,
    pub(super) unit: Unit,
}

impl Terms {
    pub(super) fn of(index: usize, s: &Supply) -> Self {
        // Price per base step × 2000 base steps (one kilogram) × 1000.
        let price_key = if is_weight(s.unit) {
            s.price_fen * 2_000 / base_per_milli(s.unit)
        } else {
            s.price_fen * 1_000
        };
        Terms {
            xyz: s.at.xyz,
            id: s.id,
            price_fen: s.price_fen,
            price_key,
            stock: s.available.milli() * base_per_milli(s.unit),
            min_order: s.min_order.milli() * base_per_milli(s.unit),
            season: s.season,
            index: u32::try_from(index).expect("fewer than 2^32 supplies"),
            benefit_bp: s.benefit_bp,
            grade: s.grade,
            unit: s.unit,
        }
    }
}

/// A usable pairing of a demand and a supply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub demand: usize,
    pub supply: usize,
    /// Allocations move in multiples of this many base steps.
    pub step: i64,
    /// The least an allocation may be, in base steps (both sides' minimum lots).
    pub lot: i64,
    /// The most it may be, in base steps.
    pub cap: i64,
    /// Delivered cost per kilogram (or per piece) in thousandths of a fen, after any
    /// household-benefit preference.
    pub key: i64,
    pub distance_m: i64,
}

pub(super) fn round_down(x: i64, step: i64) -> i64 {
    x - x.rem_euclid(step)
}

pub(super) fn round_up(x: i64, step: i64) -> i64 {
    let r = x.rem_euclid(step);
    if r == 0 { x } else { x + step - r }
}

/// Whether `d` and `s` can be paired and on what terms; `None` when any limit forbids it.
pub fn edge(
    cats: &Categories,
    params: &Params,
    (di, d): (usize, &Demand),
    (si, s): (usize, &Supply),
) -> Option<Edge> {
    if !cats.within(s.category_id, d.category_id) {
        return None;
    }
    let t = Terms::of(si, s);
    same_category_edge(params, (di, d), &t, d.at.chord2(&t.xyz))
}

/// [`edge`] for a supply already known to lie in the demand's category or below it, at
/// squared chord `chord2` from the demand.
fn same_category_edge(
    params: &Params,
    (di, d): (usize, &Demand),
    t: &Terms,
    chord2: f64,
) -> Option<Edge> {
    let distance_m = admits(d, t, chord2)?;
    let step = step(d.unit, t.unit);
    let (cap, lot) = bounds(d, t, step);
    (cap >= lot).then(|| Edge {
        demand: di,
        supply: t.index as usize,
        step,
        lot,
        cap,
        key: cost_key(params, d, t, distance_m),
        distance_m,
    })
}

/// The cost key of [`same_category_edge`] alone, for choosing among a demand's candidates.
fn same_category_key(params: &Params, d: &Demand, t: &Terms, chord2: f64) -> Option<i64> {
    let distance_m = admits(d, t, chord2)?;
    let step = step(d.unit, t.unit);
    // Rounding moves the most and the least by less than a step each: only near that
    // margin does the exact rounding decide.
    let (room, least) = unrounded_bounds(d, t);
    if room - least < 2 * step {
        let (cap, lot) = bounds(d, t, step);
        if cap < lot {
            return None;
        }
    }
    Some(cost_key(params, d, t, distance_m))
}

/// The distance between `d` and `t` (at squared chord `chord2`) when grade, unit, price,
/// season, exclusions and distance allow pairing them.
fn admits(d: &Demand, t: &Terms, chord2: f64) -> Option<i64> {
    if t.grade > d.min_grade
        || is_weight(d.unit) != is_weight(t.unit)
        || !price_within(t.price_fen, t.unit, d.max_price_fen, d.unit)
        || !in_season(t.season, d.delivery_month)
        || d.excluded.contains(&t.id)
    {
        return None;
    }
    let distance_m = metres(chord2);
    (distance_m <= d.max_distance_m).then_some(distance_m)
}

/// The most and the least an allocation between `d` and `t` may be, in whole `step`s.
fn bounds(d: &Demand, t: &Terms, step: i64) -> (i64, i64) {
    let (room, least) = unrounded_bounds(d, t);
    (round_down(room, step), round_up(least, step))
}

fn unrounded_bounds(d: &Demand, t: &Terms) -> (i64, i64) {
    let room = (d.quantity.milli() * base_per_milli(d.unit)).min(t.stock);
    let least = (d.min_lot.milli() * base_per_milli(d.unit))
        .max(t.min_order)
        .max(1);
    (room, least)
}

/// Delivered cost per kilogram (per piece for pieces) in thousandths of a fen.
fn cost_key(params: &Params, d: &Demand, t: &Terms, distance_m: i64) -> i64 {
    // fen per tonne-km is thousandths of a fen per kg-km.
    let freight = if is_weight(t.unit) {
        params.freight_fen_per_ton_km * distance_m / 1_000
    } else {
        0
    };
    let cost = t.price_key + freight;
    if d.prefer_benefit {
        let discount = params.benefit_weight_bp * i64::from(t.benefit_bp.min(10_000)) / 10_000;
        cost * (10_000 - discount) / 10_000
    } else {
        cost
    }
}

/// The supplies of a market, indexed by category and a coarse grid for fast lookups.
pub struct Market {
    pub supplies: Vec<Supply>,
    pub categories: Categories,
    /// The terms of supplies with something available, by category and grid cell, in
    /// index order within a cell.
    cells: HashMap<(i64, i32, i32), Vec<Terms>>,
}

/// A candidate supply of a demand while a batch chooses: its cost key, its index, and its
/// terms where the scan found them.
#[derive(Clone, Copy)]
struct Candidate<'a> {
    pub(super) key: i64,
    /// `terms.index`, kept beside the key so that sorting candidates reads no terms.
    pub(super) supply: u32,
    terms: &'a Terms,
}

impl Candidate<'_> {
    /// Cheapest first, ties by supply id (supplies are kept in id order).
    pub(super) fn order(&self) -> (i64, u32) {
        (self.key, self.supply)
    }
}

/// A demand's batch edges and the reserve held back for it.
pub(super) type Picked = (Vec<Edge>, Vec<Edge>);

/// Grid cells are this many degrees on a side.
const CELL_DEG: f64 = 0.5;

fn cell_of(p: &Point) -> (i32, i32) {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lng / CELL_DEG).floor() as i32,
    )
}

impl Market {
    /// Indexes `supplies`; only those with something available can be matched.
    pub fn new(mut supplies: Vec<Supply>, categories: Categories) -> Self {
        supplies.sort_by_key(|s| s.id);
        let mut cells: HashMap<(i64, i32, i32), Vec<Terms>> = HashMap::new();
        for (i, s) in supplies.iter().enumerate() {
            if s.available.milli() > 0 {
                let (a, b) = cell_of(&s.at);
                cells
                    .entry((s.category_id, a, b))
                    .or_default()
                    .push(Terms::of(i, s));
            }
        }
        Market {
            supplies,
            categories,
            cells,
        }
    }

    /// Every usable edge of demand `di`, cheapest first (ties by supply id).
    pub fn candidates(&self, params: &Params, di: usize, d: &Demand) -> Vec<Edge> {
        let mut out = self.usable_edges(params, di, d);
        // Supplies are kept in id order, so their index breaks ties as their id would.
        out.sort_unstable_by_key(|e| (e.key, e.supply));
        out
    }

    /// Every usable edge of demand `di`, in the order the grid is scanned.
    fn usable_edges(&self, params: &Params, di: usize, d: &Demand) -> Vec<Edge> {
        let mut out = Vec::new();
        self.scan(d, |t, chord2| {
            out.extend(same_category_edge(params, (di, d), t, chord2));
        });
        out
    }

    /// Calls `found` with the terms and squared chord of every supply with stock in the
    /// demand's category (or below it) within its reach, in the order the grid is scanned.
    fn scan<'a>(&'a self, d: &Demand, mut found: impl FnMut(&'a Terms, f64)) {
        let reach_deg = d.max_distance_m as f64 / 111_000.0 + 0.01;
        let lng_reach = reach_deg / d.at.lat.to_radians().cos().max(0.05);
        let (lat0, lat1) = (
            ((d.at.lat - reach_deg) / CELL_DEG).floor() as i32,
            ((d.at.lat + reach_deg) / CELL_DEG).floor() as i32,
        );
        let (lng0, lng1) = (
            ((d.at.lng - lng_reach) / CELL_DEG).floor() as i32,
            ((d.at.lng + lng_reach) / CELL_DEG).floor() as i32,
        );
        let cells = i64::from(lat1 - lat0 + 1) * i64::from(lng1 - lng0 + 1);
        let limit_chord = (d.max_distance_m as f64 + 1.0) / EARTH_RADIUS_M;
        let limit2 = limit_chord * limit_chord;
        for cat in self.categories.subtree(d.category_id) {
            let mut scan = |list: &'a Vec<Terms>| {
                for t in list {
                    let chord2 = d.at.chord2(&t.xyz);
                    if chord2 > limit2 {
                        continue;
                    }
                    found(t, chord2);
                }
            };
            if cells > 400 {
                // A very wide radius: walking the grid costs more than scanning the category.
                let mut keys: Vec<_> = self.cells.keys().filter(|k| k.0 == cat).collect();
                keys.sort_unstable();
                for k in keys {
                    scan(&self.cells[k]);
                }
            } else {
                for a in lat0..=lat1 {
                    for b in lng0..=lng1 {
                        if let Some(list) = self.cells.get(&(cat, a, b)) {
                            scan(list);
                        }
                    }
                }
            }
        }
    }

    /// The edges a batch starts with for demand `d` (as demand 0), and those it holds in
    /// reserve for when they do not fill it: see [`Market::pick`].
    pub(super) fn batch_edges(&self, params: &Params, d: &Demand) -> Picked {
        // Only the cost and the supply while choosing: a market has millions of pairs.
        let mut all: Vec<Candidate> = Vec::new();
        self.scan(d, |terms, chord2| {
            if let Some(key) = same_category_key(params, d, terms, chord2) {
                all.push(Candidate {
                    key,
                    supply: terms.index,
                    terms,
                });
            }
        });
        sort_candidates(&mut all);
        let (first, rest) = pick(params, all);
        let (later, _) = pick(params, rest);
        let edges = |chosen: Vec<Candidate>| -> Vec<Edge> {
            chosen
                .into_iter()
                .filter_map(|c| {
                    same_category_edge(params, (0, d), c.terms, d.at.chord2(&c.terms.xyz))
                })
                .collect()
        };
        (edges(first), edges(later))
    }
}

/// Splits candidates in cost order, each part keeping that order: all of them when there
/// are at most `2 × per_demand`; otherwise the `per_demand` cheapest and `per_demand`
/// more spread evenly over the rest, so that the flow can reach far supplies too when
/// near ones are taken. The second part is what was not picked.
fn pick<'a>(params: &Params, all: Vec<Candidate<'a>>) -> (Vec<Candidate<'a>>, Vec<Candidate<'a>>) {
    let per_demand = params.candidates_per_demand.max(1);
    if all.len() <= 2 * per_demand {
        return (all, Vec::new());
    }
    let rest = all.len() - per_demand;
    let mut picked = vec![false; all.len()];
    picked[..per_demand].iter_mut().for_each(|p| *p = true);
    for j in 0..per_demand {
        picked[per_demand + rest * j / per_demand] = true;
    }
    let (mut first, mut left) = (Vec::with_capacity(2 * per_demand), Vec::new());
    for (c, p) in all.into_iter().zip(picked) {
        if p { first.push(c) } else { left.push(c) }
    }
    (first, left)
}

/// Sorts candidates in [`Candidate::order`]: a radix sort on the cost, as many bytes as its
/// range needs, then each run of equal costs by supply.
fn sort_candidates(all: &mut Vec<Candidate>) {
    if all.len() < 64 {
        all.sort_unstable_by_key(Candidate::order);
        return;
    }
    let low = all.iter().map(|c| c.key).min().expect("not empty");
    let high = all.iter().map(|c| c.key).max().expect("not empty");
    let range = high.abs_diff(low);
    let mut buffer = all.clone();
    let mut shift = 0;
    while shift < 64 && range >> shift > 0 {
        let byte = |c: &Candidate| (c.key.abs_diff(low) >> shift & 0xff) as usize;
        let mut at = [0usize; 257];
        for c in all.iter() {
            at[byte(c) + 1] += 1;
        }
        for b in 0..256 {
            at[b + 1] += at[b];
        }
        for c in all.iter() {
            let b = byte(c);
            buffer[at[b]] = *c;
            at[b] += 1;
        }
        std::mem::swap(all, &mut buffer);
        shift += 8;
    }
    let mut i = 0;
    while i < all.len() {
        let mut j = i + 1;
        while j < all.len() && all[j].key == all[i].key {
            j += 1;
        }
        if j - i > 1 {
            all[i..j].sort_unstable_by_key(Candidate::order);
        }
        i = j;
    }
}
