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

mod candidates;
mod flow;
mod model;
mod repair;
mod season;

use std::collections::{BTreeMap, HashMap};

use crate::catalog::domain::{Quantity, Unit};

use self::candidates::*;
pub use self::candidates::{Edge, Market, edge};
use self::flow::*;
pub use self::model::*;
pub use self::season::{ContractOffer, coming_season, contract_offer};

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
    allocation(&demands[e.demand], &market.supplies[e.supply], e, base)
}

/// `base` steps of `s` to `d` over edge `e`, in both units.
fn allocation(d: &Demand, s: &Supply, e: &Edge, base: i64) -> Allocation {
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
    greedy(&mut net, demands, &edges, stock);

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
    let net = keep_minimums(net, demands, &edges, global.len());

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

/// Stage 1: each demand, in global cost order, takes from its cheapest supplies, sharing
/// equal-cost supplies evenly.
fn greedy(net: &mut Network, demands: &[Demand], edges: &[Edge], stock: Vec<i64>) {
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
}

/// Stage 3: minimum lots and minimum fills, then one more augmentation when it fills more
/// and keeps them.
fn keep_minimums(mut net: Network, demands: &[Demand], edges: &[Edge], supplies: usize) -> Network {
    let mut by_demand: Vec<Vec<usize>> = vec![Vec::new(); demands.len()];
    let mut by_supply: Vec<Vec<usize>> = vec![Vec::new(); supplies];
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
        let improved = !last && net.make_room_for_lots(edges, &by_demand);
        let emptied = net.repair(demands, edges, &by_demand, &by_supply, last);
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
        if tried.filled() > net.filled() && tried.keeps_minimums(demands, edges) {
            net = tried;
        }
    }
    net
}
