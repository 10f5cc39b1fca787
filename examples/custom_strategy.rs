//! A strategy written outside ordo: an idempotent consumer whose processed-id table lives in
//! a separate store (a cache next to the projection's database), registered next to the
//! built-ins and run through a sweep and the trade-off matrix. docs/strategies.md explains
//! the parts.
//!
//! `cargo run --release --example custom_strategy [SEEDS]`
//!
//! It shows the dual-write hazard: duplicates from the producer side (a retry that
//! appended twice) are discarded as the built-in `idempotent-consumer` does, but a consumer
//! crash between an apply and the store write it started lets the redelivered copy through.

use std::collections::BTreeSet;

use ordo::scenario::{ConsumerPolicy, Scenario};
use ordo::strategy::{
    Consistency, ConsumerCx, ConsumerHooks, Delivery, Registry, Setting, Setup, Side, Strategy, Table,
};

/// The strategy: a value with the settings it changes and the hooks it brings.
pub struct CacheDedup;

pub static CACHE_DEDUP: CacheDedup = CacheDedup;

impl Strategy for CacheDedup {
    fn name(&self) -> &'static str {
        "cache-dedup"
    }
    fn summary(&self) -> &'static str {
        "processed ids in a separate store: producer duplicates discarded, a crash mid-write lets one through"
    }
    fn settings(&self) -> &'static [Setting] {
        const SETTINGS: &[Setting] = &[Setting::set(Side::Consumer, "consumer.policy", "cache-dedup")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut Scenario) {
        scenario.consumer.policy = ConsumerPolicy("cache-dedup");
    }
    fn consumer_hooks(&self, setup: &mut Setup<'_>) -> Option<Box<dyn ConsumerHooks>> {
        let seen = setup.table_with("cache-dedup-seen", 0, Consistency::Separate);
        Some(Box::new(Dedup { seen, mine: BTreeSet::new() }))
    }
}

/// One per consumer incarnation: the shared table (key: event id, 1 once processed) and
/// what this process applied itself (its memory: read-your-writes until the store has it).
struct Dedup {
    seen: Table,
    mine: BTreeSet<u32>,
}

impl ConsumerHooks for Dedup {
    fn on_record(&mut self, cx: &mut ConsumerCx<'_, '_>, record: Delivery) {
        if self.mine.contains(&record.event) || cx.get(self.seen, record.event) == 1 {
            return cx.discard(record, "duplicate");
        }
        cx.apply(record);
        self.mine.insert(record.event);
        cx.set(self.seen, record.event, 1); // lands a round trip later, unless we crash first
    }
}

/// Sweeps two bundled scenarios with it and two built-ins, then runs the matrix of the
/// same scenarios with every registered strategy; returns what it prints.
pub fn report(seeds: u64) -> Result<String, Box<dyn std::error::Error>> {
    let mut registry = Registry::builtin();
    registry.register(&CACHE_DEDUP)?;
    let names = ["retry-single-inflight", "commit-after-crash"];
    let sources = names.iter().map(|n| ordo::bundled::resolve(n, None)).collect::<Result<Vec<_>, _>>()?;
    let range = ordo::sweep::SeedRange::parse(&format!("1..={seeds}"))?;
    let mut out = String::new();
    for source in &sources {
        for strategy in ["key", "idempotent-consumer", "cache-dedup"] {
            let spec = ordo::sweep::SweepSpec {
                scenario: source.load(&[])?,
                scenario_path: &source.path,
                strategy: registry.parse(strategy)?,
                seeds: range,
                threads: 1,
                progress: false,
            };
            let sweep = ordo::sweep::sweep(&spec)?;
            let dup = sweep.violated.iter().find(|(k, _)| k.name() == "duplicate_apply").map_or(0, |(_, t)| t.seeds);
            out += &format!("sweep {} {strategy}: duplicate_apply in {dup} of {seeds} seeds\n", sweep.scenario);
        }
    }
    let spec = ordo::matrix::MatrixSpec { scenarios: sources, seeds: range, threads: 1, progress: false };
    let matrix = ordo::matrix::matrix_with(&spec, &registry)?;
    for cell in matrix.cells.iter().filter(|c| c.strategy == "cache-dedup") {
        out +=
            &format!("matrix {} {}: {} of {} seeds failing\n", cell.scenario, cell.strategy, cell.failing, cell.seeds);
    }
    Ok(out)
}

fn main() {
    let seeds = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    match report(seeds) {
        Ok(text) => print!("{text}"),
        Err(error) => {
            eprintln!("{error}");
            std::process::exit(2);
        }
    }
}
