//! The residual network: supplies and demands as nodes, candidate pairs as arcs, and
//! augmenting paths (Dinic's algorithm) that reroute allocations until the fill is the most.

use super::candidates::*;
use super::model::*;
use super::{demand_base, min_fill_base};

/// One arc of the residual network.
#[derive(Clone, Copy)]
pub(super) struct Arc {
    pub(super) residual: i64,
    pub(super) to: u32,
    /// The index of the arc in the opposite direction.
    pub(super) rev: u32,
    /// The arc moves whole multiples of this many base steps.
    pub(super) step: u32,
    /// Whether this is the arc a pair was made with (its reverse carries the flow back).
    pub(super) forward: bool,
    /// Whether the pair carries flow, kept on both arcs so that either knows at once.
    pub(super) carries: bool,
}

/// The flow network source → demands → supplies → sink, stored as paired residual arcs,
/// each node's arcs next to one another.
#[derive(Clone)]
pub(super) struct Network {
    /// The arcs, grouped by the node they leave.
    pub(super) arcs: Vec<Arc>,
    /// The arcs leaving node `u` are `first[u]..first[u + 1]`.
    pub(super) first: Vec<u32>,
    /// Arc index of each candidate edge's forward arc.
    pub(super) edge_arc: Vec<u32>,
    pub(super) demand_arc: Vec<u32>,
    /// Minimum lot of each arc (zero for source and sink arcs).
    pub(super) lot: Vec<i64>,
    /// Arc index of each supply's arc to the sink (`u32::MAX` when it has no edge).
    pub(super) sink_arc: Vec<u32>,
    /// Each supply's stock, in base steps, for its arc to the sink.
    pub(super) stock: Vec<i64>,
    demand_count: usize,
    level: Vec<i32>,
    pub(super) next: Vec<u32>,
    /// Scratch for local searches: a node is seen in the current search when its mark
    /// equals `search`, so starting a search costs nothing.
    pub(super) mark: Vec<u32>,
    pub(super) parent: Vec<u32>,
    pub(super) search: u32,
}

/// How many nodes a local search to free a supply visits at most.
pub(super) const LOCAL_SEARCH_NODES: usize = 256;

pub(super) const SOURCE: usize = 0;
pub(super) const SINK: usize = 1;

impl Network {
    /// The network of `demands` and supplies with `stock`, with candidate `edges`, and no
    /// flow yet.
    pub(super) fn new(stock: Vec<i64>, demands: &[Demand], edges: &[Edge]) -> Self {
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
    pub(super) fn with_edges(self, demands: &[Demand], edges: &[Edge]) -> Self {
        let flows: Vec<i64> = (0..self.edge_arc.len()).map(|k| self.flow(k)).collect();
        let mut net = Network::new(self.stock, demands, edges);
        for (k, x) in flows.into_iter().enumerate() {
            if x > 0 {
                net.push_edge(k, x);
            }
        }
        net
    }

    pub(super) fn supply_node(&self, si: usize) -> usize {
        2 + self.demand_count + si
    }

    /// What supply `si` has left to give.
    pub(super) fn stock_left(&self, si: usize) -> i64 {
        match self.sink_arc[si] {
            u32::MAX => self.stock[si],
            a => self.arcs[a as usize].residual,
        }
    }

    /// The arcs leaving node `u`.
    pub(super) fn out(&self, u: usize) -> std::ops::Range<usize> {
        self.first[u] as usize..self.first[u + 1] as usize
    }

    /// The arc opposite `a`.
    pub(super) fn rev(&self, a: usize) -> usize {
        self.arcs[a].rev as usize
    }

    pub(super) fn flow(&self, edge: usize) -> i64 {
        let a = self.edge_arc[edge] as usize;
        if self.arcs[a].carries {
            self.arcs[self.rev(a)].residual
        } else {
            0
        }
    }

    pub(super) fn push_arc(&mut self, a: usize, amount: i64) {
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
    pub(super) fn push_edge(&mut self, k: usize, amount: i64) {
        let a = self.edge_arc[k] as usize;
        let d = self.arcs[self.rev(a)].to as usize - 2;
        let sink_arc = self.sink_arc[self.arcs[a].to as usize - 2 - self.demand_count] as usize;
        self.push_arc(self.demand_arc[d] as usize, amount);
        self.push_arc(a, amount);
        self.push_arc(sink_arc, amount);
    }

    /// What demand `d` gets now, in base steps.
    pub(super) fn demand_filled(&self, d: usize) -> i64 {
        self.arcs[self.rev(self.demand_arc[d] as usize)].residual
    }

    /// What demand `d` still wants, in base steps.
    pub(super) fn demand_room(&self, d: usize) -> i64 {
        self.arcs[self.demand_arc[d] as usize].residual
    }

    /// Everything that flows, in base steps.
    pub(super) fn filled(&self) -> i64 {
        (0..self.demand_arc.len())
            .map(|d| self.demand_filled(d))
            .sum()
    }

    /// Whether every edge with flow carries at least its lot and every demand with flow at
    /// least its minimum fill.
    pub(super) fn keeps_minimums(&self, demands: &[Demand], edges: &[Edge]) -> bool {
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
    pub(super) fn reachable(&self) -> Vec<bool> {
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
    pub(super) fn usable(&self, a: usize, grain: i64) -> bool {
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
    pub(super) fn augment(&mut self) {
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
}
