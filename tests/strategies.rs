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

/// Over `SEEDS` seeds of `path` with `strategy`, none of `never` appears, and each run did
/// its work (a run that applied nothing would show no anomaly): it ended `done` (everything
/// produced applied and committed), applied events, and holds none back at the end.
fn assert_never(path: &str, strategy: &str, never: &[&str]) {
    for seed in 1..=SEEDS {
        let (result, found) = run_with(path, strategy, seed);
        let stats = &result.stats;
        assert_eq!(result.outcome.reason.as_str(), "done", "{strategy} on {path}, seed {seed}: the run did not finish");
        assert!(
            stats.created > 0 && stats.applies > 0,
            "{strategy} on {path}, seed {seed}: nothing applied ({stats:?})"
        );
        assert_eq!(stats.held_at_end, 0, "{strategy} on {path}, seed {seed}: events held back at the end");
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
fn clock_strategies_never_invert_causality() {
    // Over a log that reorders freely (round robin, retries, cross-entity causes), the
    // clock-based consumers never apply an effect before its cause; without them, the
    // same runs do.
    let path = "scenarios/vector-clock-causal-delivery.toml";
    for strategy in ["unkeyed+idempotent+vector-clock", "unkeyed+idempotent+lamport", "unkeyed+idempotent+hlc"] {
        assert_never(path, strategy, &["causality_inversion", "per_key_reorder", "clock_condition"]);
    }
    let inversions: u64 = (1..=5)
        .map(|s| run_with(path, "unkeyed+idempotent", s).1.get("causality_inversion").copied().unwrap_or(0))
        .sum();
    assert!(inversions > 0, "the scenario does invert causality without clocks");
}

#[test]
fn clock_strategies_show_their_costs() {
    // Lamport orders concurrent events by counter: a producer that starts late looks
    // "old", and its events arrive below what was released: dead-lettered. HLC starts at
    // physical time and drops far fewer.
    let path = "scenarios/lamport-late-producer.toml";
    let dead = |strategy: &str| -> u64 { (1..=10).map(|s| run_with(path, strategy, s).0.stats.dead_lettered).sum() };
    let (lamport, hlc) = (dead("key+idempotent+lamport"), dead("key+idempotent+hlc"));
    assert!(lamport > 0, "Lamport drops the late producer's events");
    assert!(hlc * 4 < lamport, "HLC drops far fewer: {hlc} vs {lamport}");
    // Concurrent events are applied in counter order, not in the order they happened: some
    // event is applied after one created later in true time (never a cause after its
    // effect: the checker finds no inversion on these runs, see above).
    let mut against_real_time = 0;
    for seed in 1..=5 {
        let (result, found) = run_with(path, "key+idempotent+lamport", seed);
        assert!(!found.contains_key("causality_inversion") && !found.contains_key("per_key_reorder"));
        let jsonl = String::from_utf8(result.history.jsonl.clone().expect("kept")).unwrap();
        let mut created = BTreeMap::new();
        let mut latest_created_applied = 0;
        for line in jsonl.lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            match record["type"].as_str() {
                Some("create") => {
                    created.insert(record["id"].as_u64().unwrap(), record["t"].as_u64().unwrap());
                }
                Some("apply") => {
                    let t = created[&record["id"].as_u64().unwrap()];
                    if t < latest_created_applied {
                        against_real_time += 1;
                    }
                    latest_created_applied = latest_created_applied.max(t);
                }
                _ => {}
            }
        }
    }
    assert!(against_real_time > 0, "Lamport order disagrees with real time for concurrent events");
    // Causal delivery waits: events are held for their causes.
    let (result, _) = run_with("scenarios/vector-clock-causal-delivery.toml", "unkeyed+idempotent+vector-clock", 1);
    assert!(result.stats.held_max > 0);
    assert_eq!(result.stats.held_at_end, 0, "nothing was lost, so nothing stays held");
}

#[test]
fn expected_version_keeps_streams_in_order_at_the_price_of_conflicts() {
    let path = "scenarios/expected-version-writers.toml";
    let mut conflicts = 0;
    for seed in 1..=SEEDS {
        let (result, found) = run_with(path, "key+expected-version", seed);
        assert_eq!(result.stats.out_of_order_appends, 0, "seed {seed}: an append out of order at the source");
        for kind in ["per_key_reorder", "final_state", "duplicate_append"] {
            assert!(!found.contains_key(kind), "seed {seed}: {kind}");
        }
        conflicts += result.stats.conflicts;
    }
    assert!(conflicts > 0, "concurrent writers conflict");
    // The same writers without it append out of order.
    let out_of_order: u64 = (1..=5).map(|s| run_with(path, "key+idempotent", s).0.stats.out_of_order_appends).sum();
    assert!(out_of_order > 0);
}

#[test]
fn batch_retries_keep_order_and_duplicate() {
    let path = "scenarios/batch-processing-retry.toml";
    assert_never(path, "key+idempotent+batch", &["per_key_reorder", "final_state"]);
    // Composed with an idempotent consumer, the replays are harmless.
    assert_never(path, "key+idempotent+batch+idempotent-consumer", &["per_key_reorder", "duplicate_apply"]);
    // The plain consumer retries the one failed record: no duplicates either.
    assert_never(path, "key+idempotent", &["per_key_reorder", "duplicate_apply"]);
    let duplicates: u64 = (1..=5).map(|s| run_with(path, "key+idempotent+batch", s).0.stats.duplicate_applies).sum();
    assert!(duplicates > 0, "a retried batch applies its records again");
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

#[test]
fn lamport_orders_per_member_and_the_sequencer_orders_the_group() {
    // Each Lamport consumer releases by its own watermark and knows nothing of the other
    // members': after a rebalance the new owner applies again what the old one applied, and
    // competing consumers apply one key's events side by side. The sequencer keeps one
    // watermark for the group (a round trip away) and refuses those copies.
    let seen =
        |path: &str, strategy: &str, kind: &str| (1..=5).any(|s| run_with(path, strategy, s).1.contains_key(kind));
    assert!(seen("scenarios/eager-rebalance.toml", "key+lamport", "duplicate_apply"));
    assert!(seen("scenarios/queue-competing-consumers.toml", "key+lamport", "per_key_reorder"));
    for path in ["scenarios/eager-rebalance.toml", "scenarios/queue-competing-consumers.toml"] {
        assert_never(path, "key+sequencer", &["duplicate_apply", "per_key_reorder", "causality_inversion"]);
    }
    assert_never(
        "scenarios/vector-clock-causal-delivery.toml",
        "unkeyed+idempotent+sequencer",
        &["causality_inversion", "per_key_reorder", "clock_condition"],
    );
    // The round trip costs latency: the same runs take longer than Lamport's.
    let latency = |strategy: &str| -> u64 {
        (1..=5).map(|s| run_with("scenarios/lamport-late-producer.toml", strategy, s).0.stats.latency_sum_ns).sum()
    };
    assert!(latency("key+idempotent+sequencer") > latency("key+idempotent+lamport"));
}

#[test]
fn full_state_skips_a_lost_version_where_deltas_stall() {
    // The same lossy, reordering runs: the delta consumer (`versioned`) holds everything
    // behind a lost version and its entities end behind their latest event; the full-state
    // consumer applies the next version it gets, records the skip, and ends behind only
    // where the latest version itself was lost. Neither ever reorders; without either,
    // the reordering link shows.
    let path = "scenarios/full-state-vs-delta.toml";
    let (mut full_behind, mut delta_behind, mut skipped, mut gaps, mut stalled_seeds, mut plain_reorders) =
        (0, 0, 0, 0, 0, 0);
    for seed in 1..=20 {
        let (full, found) = run_with(path, "key+full-state", seed);
        assert!(!found.contains_key("per_key_reorder"), "full-state, seed {seed}: {found:?}");
        assert!(!found.contains_key("final_state"), "full-state, seed {seed}: {found:?}");
        assert_eq!(full.stats.held_at_end, 0, "full-state holds nothing, seed {seed}");
        assert_eq!(full.outcome.reason.as_str(), "done", "full-state never stalls, seed {seed}");
        let (delta, found) = run_with(path, "key+versioned", seed);
        assert!(!found.contains_key("per_key_reorder"), "versioned, seed {seed}: {found:?}");
        assert_eq!(delta.stats.skipped_gaps, 0, "versioned never skips, seed {seed}");
        assert!(full.stats.entities_behind <= delta.stats.entities_behind, "seed {seed}");
        full_behind += full.stats.entities_behind;
        delta_behind += delta.stats.entities_behind;
        skipped += full.stats.skipped_gaps;
        gaps += found_count(path, "key+full-state", seed, "sequence_gap");
        stalled_seeds += u64::from(delta.stats.held_at_end > 0);
        plain_reorders += run_with(path, "key", seed).1.get("per_key_reorder").copied().unwrap_or(0);
    }
    assert!(stalled_seeds > 0 && skipped > 0 && gaps > 0, "{stalled_seeds} {skipped} {gaps}");
    assert!(full_behind < delta_behind, "full-state ends closer to the latest state: {full_behind} vs {delta_behind}");
    assert!(plain_reorders > 0, "without a version check the link reorders");
}

fn found_count(path: &str, strategy: &str, seed: u64, kind: &str) -> u64 {
    run_with(path, strategy, seed).1.get(kind).copied().unwrap_or(0)
}
