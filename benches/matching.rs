//! Matching at market scale: batch matching of 10 000 open purchase requests against
//! 100 000 listings in 3 categories × 200 counties, against the exact maximum fill of the
//! same market (maximum flow over every compatible pair, lots relaxed, so an upper bound on
//! any allocation) computed in the same run; then incremental matching of new requests.
//!
//! `cargo bench --bench matching`; `QUDAO_BENCH_REQUESTS` and `QUDAO_BENCH_LISTINGS` scale it.

use std::time::Instant;

use qudao::catalog::domain::{Grade, Quantity, Unit};
use qudao::matching::engine::{
    Categories, Demand, Market, Params, Point, Supply, base_per_milli, batch, incremental,
};

/// A small deterministic generator (SplitMix64), so every run sees the same market.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// 200 county seats on a 20 × 10 grid over Sichuan.
fn counties() -> Vec<(f64, f64)> {
    (0..200)
        .map(|i| {
            let (row, col) = (i / 20, i % 20);
            (26.5 + 0.7 * row as f64, 98.0 + 0.5 * col as f64)
        })
        .collect()
}

fn jitter(rng: &mut Rng, (lat, lng): (f64, f64)) -> Point {
    let d = |r: &mut Rng| (r.range(-200, 200) as f64) / 1000.0;
    Point::new(lat + d(rng), lng + d(rng))
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn grams(unit: Unit) -> i64 {
    match unit {
        Unit::Jin => 500,
        Unit::Kg => 1_000,
        _ => 1_000_000,
    }
}

fn supplies(rng: &mut Rng, n: usize, seats: &[(f64, f64)]) -> Vec<Supply> {
    let units = [Unit::Jin, Unit::Kg, Unit::Ton];
    (0..n)
        .map(|i| {
            let unit = units[rng.below(3) as usize];
            let tons = rng.range(500, 6_000); // thousandths of a tonne
            let per_unit = 1_000_000 / grams(unit);
            let jin_price = rng.range(200, 600);
            let seat = seats[rng.below(200) as usize];
            Supply {
                id: i as i64 + 1,
                organization_id: rng.range(1, 20_000),
                category_id: 1 + rng.below(3) as i64,
                grade: Grade::ALL[rng.below(4) as usize],
                unit,
                available: Quantity::from_milli(tons * per_unit),
                min_order: Quantity::from_milli(rng.range(0, 200) * per_unit),
                price_fen: jin_price * grams(unit) / 500,
                season: if rng.below(5) == 0 {
                    Some((rng.range(1, 12) as u32, rng.range(1, 12) as u32))
                } else {
                    None
                },
                at: jitter(rng, seat),
                benefit_bp: rng.range(0, 10_000) as u32,
            }
        })
        .collect()
}

fn demand(rng: &mut Rng, id: i64, seats: &[(f64, f64)]) -> Demand {
    let unit = [Unit::Jin, Unit::Kg, Unit::Ton][rng.below(3) as usize];
    let per_unit = 1_000_000 / grams(unit);
    let tons = rng.range(2_000, 60_000);
    let seat = seats[rng.below(200) as usize];
    Demand {
        id,
        category_id: 1 + rng.below(3) as i64,
        min_grade: Grade::ALL[1 + rng.below(4) as usize],
        unit,
        quantity: Quantity::from_milli(tons * per_unit),
        min_fill: Quantity::from_milli(0),
        min_lot: Quantity::from_milli(rng.range(0, 500) * per_unit),
        max_price_fen: rng.range(350, 700) * grams(unit) / 500,
        at: jitter(rng, seat),
        max_distance_m: rng.range(80_000, 200_000),
        delivery_month: rng.range(1, 12) as u32,
        prefer_benefit: rng.below(4) == 0,
        excluded: vec![],
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The maximum fill over every compatible pair, by petgraph's Dinic: the exact optimum of the
/// problem with lots relaxed, so no allocation can fill more.
fn exact_bound(market: &Market, demands: &[Demand], params: &Params) -> (i64, usize) {
    use petgraph::graph::Graph;
    let mut g: Graph<(), u64> = Graph::new();
    let source = g.add_node(());
    let sink = g.add_node(());
    let dn: Vec<_> = demands.iter().map(|_| g.add_node(())).collect();
    let sn: Vec<_> = market.supplies.iter().map(|_| g.add_node(())).collect();
    for (i, d) in demands.iter().enumerate() {
        g.add_edge(
            source,
            dn[i],
            (d.quantity.milli() * base_per_milli(d.unit)) as u64,
        );
    }
    for (i, s) in market.supplies.iter().enumerate() {
        g.add_edge(
            sn[i],
            sink,
            (s.available.milli() * base_per_milli(s.unit)) as u64,
        );
    }
    let mut edges = 0;
    for (i, d) in demands.iter().enumerate() {
        for e in market.candidates(params, i, d) {
            g.add_edge(dn[i], sn[e.supply], e.cap as u64);
            edges += 1;
        }
    }
    (petgraph::algo::dinics(&g, source, sink).0 as i64, edges)
}

fn main() {
    let n_requests = env("QUDAO_BENCH_REQUESTS", 10_000);
    let n_listings = env("QUDAO_BENCH_LISTINGS", 100_000);
    let seats = counties();
    let mut rng = Rng(20_261_130);
    let cats = Categories::new([(1, None), (2, None), (3, None)]);
    let market = Market::new(supplies(&mut rng, n_listings, &seats), cats);
    let demands: Vec<Demand> = (0..n_requests)
        .map(|i| demand(&mut rng, i as i64 + 1, &seats))
        .collect();
    let params = Params::default();
    println!(
        "market: {n_requests} open requests, {n_listings} listings, 3 categories x 200 counties"
    );

    let rss_before = rss_kib("VmRSS:");
    let t = Instant::now();
    let plan = batch(&market, &demands, &params);
    let batch_s = t.elapsed().as_secs_f64();
    let peak = rss_kib("VmHWM:");
    let filled = plan.filled_base(&demands);

    let t = Instant::now();
    let (bound, edges) = exact_bound(&market, &demands, &params);
    let exact_s = t.elapsed().as_secs_f64();
    println!(
        "batch:  {batch_s:.3} s, {} allocations, peak RSS {} MiB (was {} MiB before)",
        plan.allocations.len(),
        peak / 1024,
        rss_before / 1024
    );
    println!("exact:  {exact_s:.3} s over {edges} compatible pairs (maximum flow, lots relaxed)");
    println!(
        "fill:   {:.2}% of the exact maximum ({filled} of {bound} base steps); batch takes {:.2}x the exact solver's time",
        100.0 * filled as f64 / bound.max(1) as f64,
        batch_s / exact_s
    );

    // Incremental: new requests, one at a time, against the same market.
    let mut times: Vec<f64> = (0..1_000)
        .map(|i| {
            let d = demand(&mut rng, 1_000_000 + i, &seats);
            let t = Instant::now();
            let got = incremental(&market, &d, &params);
            std::hint::black_box(got);
            t.elapsed().as_secs_f64() * 1_000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    println!(
        "incremental (1000 new requests): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(0.50),
        pct(0.99),
        times[times.len() - 1]
    );
}
