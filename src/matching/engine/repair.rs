//! Repairs of a flow: minimum lots and minimum fills, kept by topping up, moving or closing.

use super::candidates::*;
use super::flow::*;
use super::min_fill_base;
use super::model::*;

impl Network {
    /// Enforces minimum lots and minimum fills on the current flow. Edges below their lot
    /// are topped up when both sides have room, else emptied and closed; demands below
    /// their minimum fill are emptied and closed. Returns whether anything was emptied (so
    /// augmenting again may help). With `last`, closes without asking for another round.
    pub(super) fn repair(
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
    pub(super) fn make_room_for_lots(&mut self, edges: &[Edge], by_demand: &[Vec<usize>]) -> bool {
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
