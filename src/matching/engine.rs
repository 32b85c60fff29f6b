//! The matching engine: purchase requests (demands) against listings (supplies), as pure
//! computation with no I/O.
//!
//! The problem: give each demand quantities from compatible supplies so that
//! 1. as much demand as possible is filled,
//! 2. then delivered cost (price plus freight over the straight-line distance) is low,
//!    with producers that benefit more registered poor households counted as cheaper when
//!    the buyer asks for it (扶贫优先),
//! 3. and equal-cost supplies share a demand instead of one taking all of it,
//!
//! never breaking a limit: category (or a child), grade at least the one asked, a unit that
//! converts exactly, the price limit, season, distance, each side's minimum lot, the
//! demand's minimum acceptable fill and every supply's available quantity.
//!
//! Quantities are exact: every unit is a whole number of base steps (half-grams for weight,
//! thousandths of a piece for pieces) and an allocation is a whole number of the coarser of
//! its two sides' steps, so it is exact in both units.
//!
//! [`batch`] solves the whole market. Each demand starts with its 64 cheapest candidates and
//! 64 more spread evenly over the rest in cost order (so the flow can reach far supplies when
//! near ones are taken), and holds as many again in reserve; all of them when it has no more
//! than that. Parts of the market under different root categories share no supply and are
//! solved in parallel: a greedy pass in order of cost, then augmenting paths (Dinic's
//! algorithm on the residual network) that reroute allocations until the fill is the maximum
//! over those candidates; demands the source can still reach then get their reserve among
//! supplies with stock left, and the flow is augmented again; then repairs for minimum lots
//! and minimum fills. In a market where no demand has more than 128 candidates, the fill is
//! the maximum over every compatible pair before the repairs. [`incremental`] answers one new
//! demand against what is left, in cost order. Both are deterministic: ties are broken by
//! ids, never by hashing, thread timing or time.

use std::collections::{BTreeMap, HashMap};

use crate::catalog::domain::{Fen, Grade, Quantity, Unit};

/// Earth's mean radius in metres.
const EARTH_RADIUS_M: f64 = 6_371_000.0;

/// A place on the map, with its unit vector precomputed for fast distances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lat: f64,
    pub lng: f64,
    xyz: [f64; 3],
}

impl Point {
    /// A point from degrees of latitude and longitude.
    pub fn new(lat: f64, lng: f64) -> Self {
        let (la, lo) = (lat.to_radians(), lng.to_radians());
        Point {
            lat,
            lng,
            xyz: [la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin()],
        }
    }

    /// Straight-line distance in whole metres (the chord through the earth: within 0.03%
    /// of the distance along the surface at the few hundred kilometres that matter here).
    pub fn distance_m(&self, other: &Point) -> i64 {
        metres(self.chord2(&other.xyz))
    }

    /// The squared chord to the point with unit vector `xyz`, on the unit sphere.
    fn chord2(&self, xyz: &[f64; 3]) -> f64 {
        let d = [
            self.xyz[0] - xyz[0],
            self.xyz[1] - xyz[1],
            self.xyz[2] - xyz[2],
        ];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    }
}

/// Whole metres of a squared chord on the unit sphere, to the nearest.
fn metres(chord2: f64) -> i64 {
    (chord2.sqrt() * EARTH_RADIUS_M + 0.5) as i64
}

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
    /// Share of sales income going to registered poor households, in basis points.
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
    parent: HashMap<i64, i64>,
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

fn is_weight(unit: Unit) -> bool {
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

/// A supply's terms as matching reads them, in base steps where they are quantities. The
/// market keeps a copy of each next to its neighbours on the grid, so that a scan reads
/// memory in order.
#[derive(Debug, Clone, Copy)]
struct Terms {
    xyz: [f64; 3],
    id: i64,
    price_fen: Fen,
    /// The price part of the cost key: thousandths of a fen per kilogram (or per piece).
    price_key: i64,
    stock: i64,
    min_order: i64,
    season: Option<(u32, u32)>,
    /// The supply's index in the market.
    index: u32,
    benefit_bp: u32,
    grade: Grade,
    unit: Unit,
}

impl Terms {
    fn of(index: usize, s: &Supply) -> Self {
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

fn round_down(x: i64, step: i64) -> i64 {
    x - x.rem_euclid(step)
}

fn round_up(x: i64, step: i64) -> i64 {
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
    key: i64,
    /// `terms.index`, kept beside the key so that sorting candidates reads no terms.
    supply: u32,
    terms: &'a Terms,
}

impl Candidate<'_> {
    /// Cheapest first, ties by supply id (supplies are kept in id order).
    fn order(&self) -> (i64, u32) {
        (self.key, self.supply)
    }
}

/// A demand's batch edges and the reserve held back for it.
type Picked = (Vec<Edge>, Vec<Edge>);

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
    fn batch_edges(&self, params: &Params, d: &Demand) -> Picked {
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

/// The result of a matching run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Sorted by demand id, then supply id.
    pub allocations: Vec<Allocation>,
}

impl Plan {
    /// Total filled, in base steps (half-grams of weight and thousandths of pieces summed).
    pub fn filled_base(&self, demands: &[Demand]) -> i64 {
        let unit: HashMap<i64, Unit> = demands.iter().map(|d| (d.id, d.unit)).collect();
        self.allocations
            .iter()
            .map(|a| a.quantity.milli() * base_per_milli(unit[&a.demand_id]))
            .sum()
    }
}

/// Gives `amount` (in base steps) of `edges` to one demand, cheapest key group first, water-
/// filling within a group of equal cost so no single supply takes everything.
/// `supply_left` is updated; returns base steps given per edge.
fn fill_in_cost_order(edges: &[Edge], mut wanted: i64, supply_left: &mut [i64]) -> Vec<i64> {
    let mut given = vec![0; edges.len()];
    let mut i = 0;
    while i < edges.len() && wanted > 0 {
        let mut j = i;
        while j < edges.len() && edges[j].key == edges[i].key {
            j += 1;
        }
        wanted -= water_fill(&edges[i..j], wanted, supply_left, &mut given[i..j]);
        i = j;
    }
    given
}

/// Shares `wanted` among `group` as evenly as steps and lots allow; returns what it gave.
fn water_fill(group: &[Edge], wanted: i64, supply_left: &mut [i64], given: &mut [i64]) -> i64 {
    let room = |e: &Edge, left: &[i64]| round_down(left[e.supply].min(e.cap), e.step);
    if let [e] = group {
        // One supply: as much as it can give, if that is a lot.
        let amount = room(e, supply_left).min(round_down(wanted, e.step));
        if amount < e.lot {
            return 0;
        }
        supply_left[e.supply] -= amount;
        given[0] += amount;
        return amount;
    }
    let mut order: Vec<usize> = (0..group.len())
        .filter(|&k| room(&group[k], supply_left) >= group[k].lot)
        .collect();
    order.sort_by_key(|&k| (room(&group[k], supply_left), group[k].supply));
    let mut left = wanted;
    let n = order.len();
    for (pos, &k) in order.iter().enumerate() {
        let e = &group[k];
        let share = left / (n - pos) as i64;
        let r = room(e, supply_left).min(round_down(left, e.step));
        let mut amount = round_down(share, e.step).min(r);
        if amount < e.lot {
            amount = if r >= e.lot { e.lot } else { 0 };
        }
        if amount > 0 {
            supply_left[e.supply] -= amount;
            given[k] += amount;
            left -= amount;
        }
    }
    // Rounding may leave a little: give it to whoever still has room, in order.
    for &k in &order {
        if left <= 0 {
            break;
        }
        let e = &group[k];
        if given[k] == 0 {
            continue;
        }
        let extra = round_down(
            left.min(supply_left[e.supply]).min(e.cap - given[k]),
            e.step,
        );
        if extra > 0 {
            supply_left[e.supply] -= extra;
            given[k] += extra;
            left -= extra;
        }
    }
    wanted - left
}

fn to_allocation(market: &Market, demands: &[Demand], e: &Edge, base: i64) -> Allocation {
    let d = &demands[e.demand];
    let s = &market.supplies[e.supply];
    Allocation {
        demand_id: d.id,
        supply_id: s.id,
        quantity: Quantity::from_milli(base / base_per_milli(d.unit)),
        supply_quantity: Quantity::from_milli(base / base_per_milli(s.unit)),
        unit_price_fen: s.price_fen,
        distance_m: e.distance_m,
    }
}

fn demand_base(d: &Demand) -> i64 {
    d.quantity.milli() * base_per_milli(d.unit)
}

fn min_fill_base(d: &Demand) -> i64 {
    d.min_fill.milli() * base_per_milli(d.unit)
}

/// One new demand against what the market has left: cheapest first, shared at equal cost,
/// nothing when the demand's minimum fill cannot be reached.
pub fn incremental(market: &Market, demand: &Demand, params: &Params) -> Vec<Allocation> {
    let edges = market.candidates(params, 0, demand);
    let mut left: Vec<i64> = Vec::new();
    let mut index: HashMap<usize, usize> = HashMap::new();
    let local: Vec<Edge> = edges
        .iter()
        .map(|e| {
            let k = *index.entry(e.supply).or_insert_with(|| {
                let s = &market.supplies[e.supply];
                left.push(s.available.milli() * base_per_milli(s.unit));
                left.len() - 1
            });
            Edge { supply: k, ..*e }
        })
        .collect();
    let given = fill_in_cost_order(&local, demand_base(demand), &mut left);
    let total: i64 = given.iter().sum();
    if total == 0 || total < min_fill_base(demand) {
        return Vec::new();
    }
    let demands = std::slice::from_ref(demand);
    let mut out: Vec<Allocation> = edges
        .iter()
        .zip(given)
        .filter(|(_, g)| *g > 0)
        .map(|(e, g)| to_allocation(market, demands, e, g))
        .collect();
    out.sort_by_key(|a| a.supply_id);
    out
}

/// Every open demand against the whole market: fill as much as possible, then cheaply.
pub fn batch(market: &Market, demands: &[Demand], params: &Params) -> Plan {
    let mut demands = demands.to_vec();
    demands.sort_by_key(|d| d.id);
    let demands = &demands[..];
    // Each demand's batch edges and reserve, worked out on every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = demands.len().div_ceil(threads).max(1);
    let mut picked: Vec<Picked> = Vec::with_capacity(demands.len());
    std::thread::scope(|scope| {
        let parts: Vec<_> = demands
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|d| {
                            if d.quantity.milli() > 0 {
                                market.batch_edges(params, d)
                            } else {
                                (Vec::new(), Vec::new())
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for p in parts {
            picked.extend(p.join().expect("a matching thread panicked"));
        }
    });
    // Demands under different root categories share no supply: each such part of the market
    // is solved on its own, in parallel.
    let mut parts: BTreeMap<i64, (Vec<Demand>, Vec<Picked>)> = BTreeMap::new();
    for (d, p) in demands.iter().zip(picked) {
        let root = *market
            .categories
            .ancestors(d.category_id)
            .last()
            .expect("never empty");
        let part = parts.entry(root).or_default();
        part.0.push(d.clone());
        part.1.push(p);
    }
    let mut allocations: Vec<Allocation> = Vec::new();
    std::thread::scope(|scope| {
        let solving: Vec<_> = parts
            .into_values()
            .map(|(demands, picked)| scope.spawn(move || solve(market, &demands, picked)))
            .collect();
        for s in solving {
            allocations.extend(s.join().expect("a matching thread panicked"));
        }
    });
    allocations.sort_by_key(|a| (a.demand_id, a.supply_id));
    Plan { allocations }
}

/// Solves one part of the market: `picked` holds each demand's batch edges and reserve.
fn solve(market: &Market, demands: &[Demand], picked: Vec<Picked>) -> Vec<Allocation> {
    // The part's own supplies, numbered in id order (as the market keeps them), so that its
    // network and scratch space are no larger than the part.
    let mut global: Vec<usize> = picked
        .iter()
        .flat_map(|(first, later)| first.iter().chain(later))
        .map(|e| e.supply)
        .collect();
    global.sort_unstable();
    global.dedup();
    let local = |si: usize| global.binary_search(&si).expect("a supply of the part");
    let mut edges: Vec<Edge> = Vec::new();
    let mut reserve: Vec<Vec<Edge>> = Vec::with_capacity(demands.len());
    for (di, (first, later)) in picked.into_iter().enumerate() {
        let own = |e: Edge| Edge {
            demand: di,
            supply: local(e.supply),
            ..e
        };
        edges.extend(first.into_iter().map(own));
        reserve.push(later.into_iter().map(own).collect());
    }
    let stock: Vec<i64> = global
        .iter()
        .map(|&si| {
            let s = &market.supplies[si];
            s.available.milli() * base_per_milli(s.unit)
        })
        .collect();
    let mut net = Network::new(stock.clone(), demands, &edges);

    // 1. Greedy in global cost order, demands sharing equal-cost supplies.
    // (cost, demand and edge): demands are numbered in id order and each one's edges come
    // in order of cost and supply, so this orders by cost, demand id and supply id.
    let mut order: Vec<(i64, u64)> = edges
        .iter()
        .enumerate()
        .map(|(k, e)| (e.key, (e.demand as u64) << 32 | k as u64))
        .collect();
    order.sort_unstable();
    let edge_of = |o: &(i64, u64)| (o.1 & u64::from(u32::MAX)) as usize;
    let mut supply_left = stock;
    let mut demand_left: Vec<i64> = demands.iter().map(demand_base).collect();
    let mut group: Vec<Edge> = Vec::new();
    let mut given: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < order.len() {
        let (key, demand) = (order[i].0, order[i].1 >> 32);
        let mut j = i;
        while j < order.len() && order[j].0 == key && order[j].1 >> 32 == demand {
            j += 1;
        }
        if demand_left[demand as usize] <= 0 {
            i = j;
            continue;
        }
        group.clear();
        group.extend(order[i..j].iter().map(|o| edges[edge_of(o)]));
        given.clear();
        given.resize(group.len(), 0);
        let d = group[0].demand;
        let gave = water_fill(&group, demand_left[d], &mut supply_left, &mut given);
        demand_left[d] -= gave;
        for (o, &g) in order[i..j].iter().zip(&given) {
            if g > 0 {
                net.push_edge(edge_of(o), g);
            }
        }
        i = j;
    }
    drop(order);

    // 2. Augment: reroute until no path from a demand with room to a supply with stock is
    //    left among the batch edges. Demands the source still reaches then get their reserve
    //    among the supplies with stock left, and the flow is augmented again.
    net.augment();
    let reach = net.reachable();
    let had = edges.len();
    for (di, later) in reserve.into_iter().enumerate() {
        if reach[2 + di] {
            edges.extend(later.into_iter().filter(|e| net.stock_left(e.supply) > 0));
        }
    }
    if edges.len() > had {
        net = net.with_edges(demands, &edges);
        net.augment();
    }

    // 3. Minimum lots and minimum fills.
    let mut by_demand: Vec<Vec<usize>> = vec![Vec::new(); demands.len()];
    let mut by_supply: Vec<Vec<usize>> = vec![Vec::new(); global.len()];
    for (k, e) in edges.iter().enumerate() {
        by_demand[e.demand].push(k);
        by_supply[e.supply].push(k);
    }
    for ks in &mut by_supply {
        ks.sort_by_key(|&k| (edges[k].key, k));
    }
    // The flow is maximal here; each round that changes it augments again.
    let mut rounds = 0;
    loop {
        if rounds > 0 {
            net.augment();
        }
        let last = rounds >= 2;
        let improved = !last && net.make_room_for_lots(&edges, &by_demand);
        let emptied = net.repair(demands, &edges, &by_demand, &by_supply, last);
        rounds += 1;
        if !(improved || emptied) {
            break;
        }
    }
    // The repairs may have left room that one more augmentation fills; it is kept only when
    // it fills more and breaks no minimum lot or minimum fill.
    if net.reachable()[SINK] {
        let mut tried = net.clone();
        tried.augment();
        if tried.filled() > net.filled() && tried.keeps_minimums(demands, &edges) {
            net = tried;
        }
    }

    edges
        .iter()
        .enumerate()
        .filter_map(|(k, e)| {
            let x = net.flow(k);
            let e = Edge {
                supply: global[e.supply],
                ..*e
            };
            (x > 0).then(|| to_allocation(market, demands, &e, x))
        })
        .collect()
}

/// One arc of the residual network.
#[derive(Clone, Copy)]
struct Arc {
    residual: i64,
    to: u32,
    /// The index of the arc in the opposite direction.
    rev: u32,
    /// The arc moves whole multiples of this many base steps.
    step: u32,
    /// Whether this is the arc a pair was made with (its reverse carries the flow back).
    forward: bool,
    /// Whether the pair carries flow, kept on both arcs so that either knows at once.
    carries: bool,
}

/// The flow network source → demands → supplies → sink, stored as paired residual arcs,
/// each node's arcs next to one another.
#[derive(Clone)]
struct Network {
    /// The arcs, grouped by the node they leave.
    arcs: Vec<Arc>,
    /// The arcs leaving node `u` are `first[u]..first[u + 1]`.
    first: Vec<u32>,
    /// Arc index of each candidate edge's forward arc.
    edge_arc: Vec<u32>,
    demand_arc: Vec<u32>,
    /// Minimum lot of each arc (zero for source and sink arcs).
    lot: Vec<i64>,
    /// Arc index of each supply's arc to the sink (`u32::MAX` when it has no edge).
    sink_arc: Vec<u32>,
    /// Each supply's stock, in base steps, for its arc to the sink.
    stock: Vec<i64>,
    demand_count: usize,
    level: Vec<i32>,
    next: Vec<u32>,
    /// Scratch for local searches: a node is seen in the current search when its mark
    /// equals `search`, so starting a search costs nothing.
    mark: Vec<u32>,
    parent: Vec<u32>,
    search: u32,
}

/// How many nodes a local search to free a supply visits at most.
const LOCAL_SEARCH_NODES: usize = 256;

const SOURCE: usize = 0;
const SINK: usize = 1;

impl Network {
    /// The network of `demands` and supplies with `stock`, with candidate `edges`, and no
    /// flow yet.
    fn new(stock: Vec<i64>, demands: &[Demand], edges: &[Edge]) -> Self {
        let n = 2 + demands.len() + stock.len();
        let supply_node = |si: usize| 2 + demands.len() + si;
        // Arc pairs are made in one order (source arcs, then for each edge its supply's sink
        // arc if it is the first, then the edge itself) twice: once to count each node's
        // arcs, once to lay them out; a node's arcs keep that order.
        let make = |pair: &mut dyn FnMut(usize, usize, i64, i64, i64) -> u32| {
            let demand_arcs: Vec<u32> = demands
                .iter()
                .enumerate()
                .map(|(di, d)| pair(SOURCE, 2 + di, demand_base(d).max(0), 1, 0))
                .collect();
            let mut sink_arcs = vec![u32::MAX; stock.len()];
            let mut edge_arcs = Vec::with_capacity(edges.len());
            for e in edges {
                if sink_arcs[e.supply] == u32::MAX {
                    sink_arcs[e.supply] = pair(supply_node(e.supply), SINK, stock[e.supply], 1, 0);
                }
                edge_arcs.push(pair(
                    2 + e.demand,
                    supply_node(e.supply),
                    e.cap,
                    e.step,
                    e.lot,
                ));
            }
            (demand_arcs, sink_arcs, edge_arcs)
        };
        let mut first = vec![0u32; n + 1];
        make(&mut |from, to, _, _, _| {
            first[from + 1] += 1;
            first[to + 1] += 1;
            0
        });
        for u in 0..n {
            first[u + 1] += first[u];
        }
        let total = first[n] as usize;
        assert!(
            total < u32::MAX as usize,
            "a part of the market has fewer than 2^31 candidate edges"
        );
        let blank = Arc {
            residual: 0,
            to: 0,
            rev: 0,
            step: 1,
            forward: false,
            carries: false,
        };
        let mut arcs = vec![blank; total];
        let mut lot = vec![0i64; total];
        let mut free = first.clone();
        let (demand_arc, sink_arc, edge_arc) = make(&mut |from, to, cap, step, pair_lot| {
            let (f, r) = (free[from], free[to]);
            free[from] += 1;
            free[to] += 1;
            let step = u32::try_from(step).expect("steps are small");
            let arc = |residual, to, rev, forward| Arc {
                residual,
                to: to as u32,
                rev,
                step,
                forward,
                carries: false,
            };
            arcs[f as usize] = arc(cap, to, r, true);
            arcs[r as usize] = arc(0, from, f, false);
            lot[f as usize] = pair_lot;
            lot[r as usize] = pair_lot;
            f
        });
        Network {
            arcs,
            first,
            edge_arc,
            demand_arc,
            lot,
            sink_arc,
            stock,
            demand_count: demands.len(),
            level: vec![0; n],
            next: vec![0; n],
            mark: vec![0; n],
            parent: vec![u32::MAX; n],
            search: 0,
        }
    }

    /// The network with more candidate `edges` (those it has first, in the same order), and
    /// the same flow.
    fn with_edges(self, demands: &[Demand], edges: &[Edge]) -> Self {
        let flows: Vec<i64> = (0..self.edge_arc.len()).map(|k| self.flow(k)).collect();
        let mut net = Network::new(self.stock, demands, edges);
        for (k, x) in flows.into_iter().enumerate() {
            if x > 0 {
                net.push_edge(k, x);
            }
        }
        net
    }

    fn supply_node(&self, si: usize) -> usize {
        2 + self.demand_count + si
    }

    /// What supply `si` has left to give.
    fn stock_left(&self, si: usize) -> i64 {
        match self.sink_arc[si] {
            u32::MAX => self.stock[si],
            a => self.arcs[a as usize].residual,
        }
    }

    /// The arcs leaving node `u`.
    fn out(&self, u: usize) -> std::ops::Range<usize> {
        self.first[u] as usize..self.first[u + 1] as usize
    }

    /// The arc opposite `a`.
    fn rev(&self, a: usize) -> usize {
        self.arcs[a].rev as usize
    }

    fn flow(&self, edge: usize) -> i64 {
        let a = self.edge_arc[edge] as usize;
        if self.arcs[a].carries {
            self.arcs[self.rev(a)].residual
        } else {
            0
        }
    }

    fn push_arc(&mut self, a: usize, amount: i64) {
        self.arcs[a].residual -= amount;
        let r = self.rev(a);
        self.arcs[r].residual += amount;
        let flow = if self.arcs[a].forward {
            self.arcs[r].residual
        } else {
            self.arcs[a].residual
        };
        self.arcs[a].carries = flow > 0;
        self.arcs[r].carries = flow > 0;
    }

    /// Sends `amount` along source → demand → supply → sink of candidate edge `k`.
    fn push_edge(&mut self, k: usize, amount: i64) {
        let a = self.edge_arc[k] as usize;
        let d = self.arcs[self.rev(a)].to as usize - 2;
        let sink_arc = self.sink_arc[self.arcs[a].to as usize - 2 - self.demand_count] as usize;
        self.push_arc(self.demand_arc[d] as usize, amount);
        self.push_arc(a, amount);
        self.push_arc(sink_arc, amount);
    }

    /// What demand `d` gets now, in base steps.
    fn demand_filled(&self, d: usize) -> i64 {
        self.arcs[self.rev(self.demand_arc[d] as usize)].residual
    }

    /// What demand `d` still wants, in base steps.
    fn demand_room(&self, d: usize) -> i64 {
        self.arcs[self.demand_arc[d] as usize].residual
    }

    /// Everything that flows, in base steps.
    fn filled(&self) -> i64 {
        (0..self.demand_arc.len())
            .map(|d| self.demand_filled(d))
            .sum()
    }

    /// Whether every edge with flow carries at least its lot and every demand with flow at
    /// least its minimum fill.
    fn keeps_minimums(&self, demands: &[Demand], edges: &[Edge]) -> bool {
        let lots = edges.iter().enumerate().all(|(k, e)| {
            let x = self.flow(k);
            x == 0 || x >= e.lot
        });
        lots && demands.iter().enumerate().all(|(di, d)| {
            let x = self.demand_filled(di);
            x == 0 || x >= min_fill_base(d)
        })
    }

    /// Nodes the source reaches through arcs that can still carry a step.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.level.len()];
        seen[SOURCE] = true;
        let mut queue = std::collections::VecDeque::from([SOURCE]);
        while let Some(u) = queue.pop_front() {
            for a in self.out(u) {
                let v = self.arcs[a].to as usize;
                if !seen[v] && self.arcs[a].residual >= i64::from(self.arcs[a].step) {
                    seen[v] = true;
                    queue.push_back(v);
                }
            }
        }
        seen
    }

    /// Whether arc `a` can carry a push of `grain` base steps in a pass of that grain.
    fn usable(&self, a: usize, grain: i64) -> bool {
        self.arcs[a].residual >= grain && i64::from(self.arcs[a].step) <= grain
    }

    /// Levels nodes by their distance from the source over arcs usable at `grain`, as far
    /// as the sink's level: only shortest paths to the sink are augmented in a phase.
    fn bfs(&mut self, grain: i64) -> bool {
        self.level.iter_mut().for_each(|l| *l = -1);
        self.level[SOURCE] = 0;
        let mut queue = std::collections::VecDeque::from([SOURCE]);
        while let Some(u) = queue.pop_front() {
            if self.level[SINK] >= 0 && self.level[u] >= self.level[SINK] {
                break;
            }
            for a in self.out(u) {
                let v = self.arcs[a].to as usize;
                if self.level[v] < 0 && self.usable(a, grain) {
                    self.level[v] = self.level[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        self.level[SINK] >= 0
    }

    /// Dinic's algorithm from the current flow, in passes of decreasing grain: a pass uses
    /// only arcs whose step divides its grain and moves whole grains, so every arc keeps a
    /// whole number of its own steps and every path found can carry something.
    fn augment(&mut self) {
        let mut coarser: Option<i64> = None;
        for grain in [2_000, 1_000, 2, 1] {
            // Every residual a multiple of the last grain: a path at a finer grain would
            // have been one at the last, and none is left.
            if let Some(c) = coarser
                && self.arcs.iter().all(|a| a.residual % c == 0)
            {
                break;
            }
            coarser = Some(grain);
            self.augment_by(grain);
        }
    }

    fn augment_by(&mut self, grain: i64) {
        while self.bfs(grain) {
            self.next.copy_from_slice(&self.first[..self.level.len()]);
            let mut path: Vec<usize> = Vec::new();
            let mut moved = false;
            loop {
                let u = path.last().map_or(SOURCE, |&a| self.arcs[a].to as usize);
                if u == SINK {
                    let step = grain;
                    let bottleneck = path
                        .iter()
                        .map(|&a| self.arcs[a].residual)
                        .min()
                        .unwrap_or(0);
                    let amount = round_down(bottleneck, step);
                    if amount > 0 {
                        for &a in &path {
                            self.push_arc(a, amount);
                        }
                        moved = true;
                    }
                    // Back up to the first arc that can no longer carry a full step.
                    let cut = path
                        .iter()
                        .position(|&a| self.arcs[a].residual < step)
                        .unwrap_or(0);
                    let from = if cut == 0 {
                        SOURCE
                    } else {
                        self.arcs[path[cut - 1]].to as usize
                    };
                    self.next[from] += 1;
                    path.truncate(cut);
                    continue;
                }
                let mut advanced = false;
                while self.next[u] < self.first[u + 1] {
                    let a = self.next[u] as usize;
                    let v = self.arcs[a].to as usize;
                    if self.usable(a, grain) && self.level[v] == self.level[u] + 1 {
                        path.push(a);
                        advanced = true;
                        break;
                    }
                    self.next[u] += 1;
                }
                if !advanced {
                    // Dead end: no path through u in this phase.
                    self.level[u] = -1;
                    match path.pop() {
                        Some(a) => {
                            let from = self.arcs[self.rev(a)].to as usize;
                            self.next[from] += 1;
                        }
                        None => break,
                    }
                }
            }
            if !moved {
                // Paths exist but none can carry a whole step: the next phase would be the same.
                break;
            }
        }
    }

    /// Enforces minimum lots and minimum fills on the current flow. Edges below their lot
    /// are topped up when both sides have room, else emptied and closed; demands below
    /// their minimum fill are emptied and closed. Returns whether anything was emptied (so
    /// augmenting again may help). With `last`, closes without asking for another round.
    fn repair(
        &mut self,
        demands: &[Demand],
        edges: &[Edge],
        by_demand: &[Vec<usize>],
        by_supply: &[Vec<usize>],
        last: bool,
    ) -> bool {
        let mut emptied = false;
        for (k, e) in edges.iter().enumerate() {
            let x = self.flow(k);
            if x == 0 || x >= e.lot {
                continue;
            }
            let a = self.edge_arc[k] as usize;
            let demand_room = self.demand_room(e.demand);
            let supply_room = self.arcs[self.sink_arc[e.supply] as usize].residual;
            let need = e.lot - x;
            let sink = self.sink_arc[e.supply] as usize;
            let supply_room = if !last && supply_room < need && self.arcs[a].residual >= need {
                // First move other demands elsewhere; failing that, take from them: topping
                // this edge up to its lot fills more than what they give back.
                self.free_supply(e.supply, self.rev(a), need - supply_room);
                let short = need - self.arcs[sink].residual;
                if short > 0 {
                    self.take_from_supply(edges, &by_supply[e.supply], k, short);
                }
                self.arcs[sink].residual
            } else {
                supply_room
            };
            let fits = supply_room >= need && self.arcs[a].residual >= need;
            let room = fits
                && !last
                && (demand_room >= need
                    || self
                        .free_from_others(
                            edges,
                            &by_demand[e.demand],
                            k,
                            need - demand_room,
                            // Emptying others is worth it while it costs less than `x`.
                            Some(need - demand_room + x - 1),
                        )
                        .is_some());
            if room {
                self.push_edge(k, need);
                // Others gave way: what they freed may fit elsewhere in the next round.
                emptied = true;
            } else {
                self.push_edge(k, -x);
                self.close_arc(a);
                emptied = true;
            }
        }
        for (di, d) in demands.iter().enumerate() {
            let arc = self.demand_arc[di] as usize;
            let mut filled = self.demand_filled(di);
            if filled > 0 && filled < min_fill_base(d) && !last {
                self.raise_to_min_fill(edges, &by_demand[di], by_supply, min_fill_base(d) - filled);
                filled = self.demand_filled(di);
                emptied = true;
            }
            if filled > 0 && filled < min_fill_base(d) {
                for (k, e) in edges.iter().enumerate() {
                    if e.demand == di {
                        let x = self.flow(k);
                        if x > 0 {
                            self.push_edge(k, -x);
                        }
                    }
                }
                self.close_arc(arc);
                emptied = true;
            }
        }
        emptied && !last
    }

    /// A demand with a remainder smaller than the minimum lot of an unused supply can still
    /// be filled by moving part of what it gets elsewhere (above those edges' own lots) to
    /// that supply. Returns whether any demand was filled further.
    fn make_room_for_lots(&mut self, edges: &[Edge], by_demand: &[Vec<usize>]) -> bool {
        let mut improved = false;
        for (di, ks) in by_demand.iter().enumerate() {
            let remainder = self.demand_room(di);
            if remainder <= 0 {
                continue;
            }
            for &k in ks {
                let e = &edges[k];
                let arc = self.edge_arc[k] as usize;
                let sink = self.sink_arc[e.supply] as usize;
                if self.flow(k) > 0
                    || self.arcs[arc].residual < e.lot
                    || self.arcs[sink].residual < e.lot
                {
                    continue;
                }
                let need = e.lot - remainder;
                if need <= 0 {
                    continue;
                }
                let room = self.arcs[arc].residual.min(self.arcs[sink].residual) - remainder;
                let Some(freed) = self.free_from_others(edges, ks, k, need, Some(room)) else {
                    continue;
                };
                // Something moved: even if the lot cannot be taken now, augment again.
                improved = true;
                let amount = remainder + freed;
                if amount % e.step == 0
                    && amount <= self.arcs[arc].residual.min(self.arcs[sink].residual)
                {
                    self.push_edge(k, amount);
                }
                break;
            }
        }
        improved
    }

    /// Lowers the dearest other edges of one demand (never below their lots) until at least
    /// `need` base steps are free on the demand's arc; when that is not enough, empties them
    /// instead, as long as no more than `empty_up_to` is freed in all. `None`, changing
    /// nothing, if they cannot free as much.
    fn free_from_others(
        &mut self,
        edges: &[Edge],
        ks: &[usize],
        except: usize,
        need: i64,
        empty_up_to: Option<i64>,
    ) -> Option<i64> {
        let mut takes: Vec<(usize, i64)> = Vec::new();
        let mut freed = 0;
        for &f in ks.iter().rev() {
            if freed >= need {
                break;
            }
            let x = self.flow(f);
            let slack = round_down(x - edges[f].lot, edges[f].step);
            if f == except || x == 0 || slack <= 0 {
                continue;
            }
            let take = slack.min(round_up(need - freed, edges[f].step));
            takes.push((f, take));
            freed += take;
        }
        if freed < need
            && let Some(limit) = empty_up_to
        {
            // Whole allocations, dearest first, in place of what was taken of them.
            for &f in ks.iter().rev() {
                if freed >= need {
                    break;
                }
                let x = self.flow(f);
                if f == except || x == 0 {
                    continue;
                }
                let taken = match takes.iter_mut().find(|(g, _)| *g == f) {
                    Some(t) => t,
                    None => {
                        takes.push((f, 0));
                        takes.last_mut().expect("just pushed")
                    }
                };
                freed += x - taken.1;
                taken.1 = x;
            }
            if freed > limit {
                return None;
            }
        }
        if freed < need {
            return None;
        }
        for (f, take) in takes {
            self.push_edge(f, -take);
        }
        Some(freed)
    }

    /// Frees up to `need` base steps of supply `si`'s stock by moving other demands' existing
    /// allocations from it to other supplies (never below their lots, never through arc
    /// `except`). Totals of every demand stay the same.
    fn free_supply(&mut self, si: usize, except: usize, need: i64) {
        let start = self.supply_node(si);
        let own_sink = self.sink_arc[si] as usize;
        let mut left = need;
        while left > 0 {
            self.search += 1;
            let stamp = self.search;
            self.mark[start] = stamp;
            self.mark[SOURCE] = stamp;
            let mut queue = std::collections::VecDeque::from([start]);
            let mut found = false;
            let mut visited = 0;
            'search: while let Some(u) = queue.pop_front() {
                // A local search: rerouting far away is left to the next augmentation.
                visited += 1;
                if visited > LOCAL_SEARCH_NODES {
                    break;
                }
                for b in self.out(u) {
                    // An arc with no residual cannot move anything (most arcs back from a
                    // supply carry no allocation): rejected before looking at its head.
                    if self.arcs[b].residual <= 0 {
                        continue;
                    }
                    let v = self.arcs[b].to as usize;
                    if self.mark[v] == stamp || b == except || b == own_sink || self.movable(b) <= 0
                    {
                        continue;
                    }
                    self.mark[v] = stamp;
                    self.parent[v] = b as u32;
                    if v == SINK {
                        found = true;
                        break 'search;
                    }
                    queue.push_back(v);
                }
            }
            if !found {
                return;
            }
            let mut path = Vec::new();
            let mut v = SINK;
            while v != start {
                let b = self.parent[v] as usize;
                path.push(b);
                v = self.arcs[self.rev(b)].to as usize;
            }
            let step = path
                .iter()
                .map(|&b| i64::from(self.arcs[b].step))
                .max()
                .unwrap_or(1);
            let bottleneck = path.iter().map(|&b| self.movable(b)).min().unwrap_or(0);
            let amount = round_down(bottleneck.min(round_up(left, step)), step);
            if amount <= 0 {
                return;
            }
            for &b in &path {
                self.push_arc(b, amount);
            }
            left -= amount;
        }
    }

    /// Fills a demand that fell short of its minimum fill from its own edges, cheapest first,
    /// moving or taking other demands' allocations where the supply has no room left: keeping
    /// what it already has beats giving it all back.
    fn raise_to_min_fill(
        &mut self,
        edges: &[Edge],
        ks: &[usize],
        by_supply: &[Vec<usize>],
        mut short: i64,
    ) {
        for &k in ks {
            if short <= 0 {
                return;
            }
            let e = &edges[k];
            let a = self.edge_arc[k] as usize;
            let sink = self.sink_arc[e.supply] as usize;
            let x = self.flow(k);
            let lot_left = if x == 0 { e.lot } else { 0 };
            let want = round_up(short.max(lot_left), e.step)
                .min(round_down(self.arcs[a].residual, e.step));
            if want <= 0 || want < lot_left {
                continue;
            }
            if self.arcs[sink].residual < want {
                self.free_supply(e.supply, self.rev(a), want - self.arcs[sink].residual);
            }
            if self.arcs[sink].residual < want {
                let gap = want - self.arcs[sink].residual;
                self.take_from_supply(edges, &by_supply[e.supply], k, gap);
            }
            let demand_room = self.demand_room(e.demand);
            let amount = round_down(want.min(self.arcs[sink].residual).min(demand_room), e.step);
            if amount <= 0 || amount < lot_left {
                continue;
            }
            self.push_edge(k, amount);
            short -= amount;
        }
    }

    /// Lowers other demands' allocations from one supply, dearest first, by at least
    /// `short` base steps: first down to their lots, then whole allocations. Does nothing if
    /// together they hold less than `short`.
    fn take_from_supply(&mut self, edges: &[Edge], ks: &[usize], except: usize, short: i64) {
        let held: i64 = ks
            .iter()
            .filter(|&&f| f != except)
            .map(|&f| self.flow(f))
            .sum();
        if held < short {
            return;
        }
        let mut left = short;
        for whole in [false, true] {
            for &f in ks.iter().rev() {
                if left <= 0 {
                    return;
                }
                let x = self.flow(f);
                if f == except || x == 0 {
                    continue;
                }
                // Whole allocations only when all of it is needed: taking more than the
                // shortfall would fill less than it gains.
                let room = if whole && x <= left {
                    x
                } else if whole {
                    0
                } else {
                    round_down(x - edges[f].lot, edges[f].step)
                };
                let take = if whole {
                    room
                } else {
                    room.min(round_up(left, edges[f].step))
                };
                if room <= 0 || take <= 0 {
                    continue;
                }
                self.push_edge(f, -take);
                left -= take;
            }
        }
    }

    /// How much arc `b` can carry while rerouting: an allocation may grow if it exists and
    /// shrink down to its lot; sink arcs carry their residual.
    fn movable(&self, b: usize) -> i64 {
        let lot = self.lot[b];
        if lot == 0 {
            self.arcs[b].residual
        } else if !self.arcs[b].forward {
            self.arcs[b].residual - lot
        } else if self.arcs[b].carries {
            self.arcs[b].residual
        } else {
            0
        }
    }

    /// Takes an arc (and its reverse) out of the network; its flow must be zero.
    fn close_arc(&mut self, a: usize) {
        let r = self.rev(a);
        for arc in [a, r] {
            self.arcs[arc].residual = 0;
            self.arcs[arc].carries = false;
        }
    }
}
