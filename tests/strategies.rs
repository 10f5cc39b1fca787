//! Each strategy's promise, pinned where it matters, and the weakness its doc states,
//! shown where it appears (issue: "a timestamp LWW consumer loses updates under skew; a
//! reorder buffer skips a lost event after its timeout").
//!
//! The quickstart (retries with 5 in flight and no idempotence over a lossy link) reorders
//! and duplicates; each strategy below must remove what it promises to, across seeds.

use std::collections::BTreeMap;
use std::path::Path;

use ordo::history::HistoryMode;
use ordo::run::{run, RunResult, RunSpec};
use ordo::scenario::Scenario;
use ordo::strategy::StrategySet;

const SEEDS: u64 = 30;

fn run_with(path: &str, strategy: &str, seed: u64) -> (RunResult, BTreeMap<&'static str, u64>) {
    let scenario = Scenario::load(Path::new(path)).unwrap();
    let result = run(RunSpec {
        scenario,
        scenario_path: Path::new(path),
        strategy: StrategySet::parse(strategy).unwrap(),
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap();
    let jsonl = result.history.jsonl.as_ref().expect("kept");
    let counts = ordo::checker::check_reader(jsonl.as_slice(), path, None).unwrap().all_counts();
    (result, counts)
}

/// Over `SEEDS` seeds of `path` with `strategy`, none of `never` appears.
fn assert_never(path: &str, strategy: &str, never: &[&str]) {
    for seed in 1..=SEEDS {
        let (_, found) = run_with(path, strategy, seed);
        for kind in never {
            assert!(!found.contains_key(kind), "{strategy} on {path}, seed {seed}: {kind} ({found:?})");
        }
    }
}

#[test]
fn producer_strategies_keep_their_promises() {
    assert_never("scenarios/quickstart.toml", "key+single-inflight", &["per_key_reorder", "nonmonotonic_send"]);
    assert_never(
        "scenarios/quickstart.toml",
        "key+idempotent",
        &["per_key_reorder", "duplicate_append", "duplicate_apply", "final_state"],
    );
}

#[test]
fn consumer_strategies_keep_their_promises() {
    // Sequence numbers with a reorder buffer, and versions: applied in order, once.
    for strategy in ["key+reorder-buffer", "key+versioned"] {
        assert_never("scenarios/quickstart.toml", strategy, &["per_key_reorder", "duplicate_apply", "final_state"]);
    }
    // An idempotent consumer: duplicates in the log become harmless.
    assert_never("scenarios/quickstart.toml", "key+idempotent-consumer", &["duplicate_apply"]);
    // Last write wins with synchronised clocks: the latest write survives.
    assert_never("scenarios/quickstart.toml", "key+lww", &["final_state"]);
    // The outbox's relay keeps each aggregate in order through a crash; with an idempotent
    // consumer, its duplicates become harmless too (strategies compose).
    assert_never("scenarios/outbox-relay-crash.toml", "outbox", &["per_key_reorder", "final_state"]);
    assert_never(
        "scenarios/outbox-relay-crash.toml",
        "outbox+idempotent-consumer",
        &["per_key_reorder", "duplicate_apply"],
    );
}

#[test]
fn the_weaknesses_the_docs_state_do_appear() {
    // The idempotent consumer does nothing for order.
    let reorders: u64 = (1..=SEEDS)
        .map(|s| {
            run_with("scenarios/quickstart.toml", "key+idempotent-consumer", s)
                .1
                .get("per_key_reorder")
                .copied()
                .unwrap_or(0)
        })
        .sum();
    assert!(reorders > 0);
    // A reorder buffer skips a lost event after its timeout.
    let skipped: u64 = (1..=10)
        .map(|s| run_with("scenarios/reorder-buffer-lost-event.toml", "key+reorder-buffer", s).0.stats.skipped_gaps)
        .sum();
    assert!(skipped > 0);
    // A versioned consumer never skips: with the same lost events, later versions stay held.
    let mut stalled = 0;
    for seed in 1..=10 {
        let (result, found) = run_with("scenarios/reorder-buffer-lost-event.toml", "key+versioned", seed);
        assert_eq!(result.stats.skipped_gaps, 0);
        assert!(!found.contains_key("per_key_reorder"));
        if result.stats.held_max > 0 && result.stats.applies + result.stats.discarded < result.stats.deliveries {
            stalled += 1;
        }
    }
    assert!(stalled > 0, "a lost version stalls its entity");
    // LWW loses updates when a clock runs behind.
    let lost: u64 = (1..=10)
        .map(|s| {
            run_with("scenarios/lww-clock-skew.toml", "key+idempotent+lww", s)
                .1
                .get("final_state")
                .copied()
                .unwrap_or(0)
        })
        .sum();
    assert!(lost > 0);
}
