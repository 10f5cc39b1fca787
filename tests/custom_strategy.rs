//! The example strategy written outside the crate (`examples/custom_strategy.rs`) registers
//! next to the built-ins, runs through a sweep and the matrix, and keeps its promise:
//! producer-side duplicates are discarded, while a consumer crash between an apply and its
//! separate store write lets a copy through (the dual-write hazard), which the built-in
//! idempotent consumer, whose table is written with the apply, never does. A user's producer
//! hooks choose the partition and stamp a clock the checker finds consistent.

#[allow(dead_code)]
#[path = "../examples/custom_strategy.rs"]
mod example;

use ordo::strategy::{Registry, Strategy};

/// `sweep SCENARIO STRATEGY: duplicate_apply in N of M seeds` → N.
fn duplicates(report: &str, scenario: &str, strategy: &str) -> u64 {
    let prefix = format!("sweep {scenario} {strategy}: duplicate_apply in ");
    let line = report.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap_or_else(|| panic!("{prefix} in {report}"));
    line.split(' ').next().unwrap().parse().unwrap()
}

#[test]
fn the_example_strategy_runs_through_sweep_and_matrix_and_keeps_its_promise() {
    let report = example::report(10).expect("the example runs");
    // Producer retries appended events twice: the plain consumer applies both copies, the
    // example discards the second, as the built-in idempotent consumer does.
    assert!(duplicates(&report, "retry-single-inflight", "key") > 0, "{report}");
    assert_eq!(duplicates(&report, "retry-single-inflight", "cache-dedup"), 0, "{report}");
    assert_eq!(duplicates(&report, "retry-single-inflight", "idempotent-consumer"), 0, "{report}");
    // A consumer crash: the atomic table never lets a copy through; the separate store does
    // when the crash falls between an apply and the write.
    assert_eq!(duplicates(&report, "commit-after-crash", "idempotent-consumer"), 0, "{report}");
    assert!(duplicates(&report, "commit-after-crash", "cache-dedup") > 0, "{report}");
    // The matrix ran it as a column, over both scenarios.
    assert!(report.contains("matrix retry-single-inflight cache-dedup: 0 of 10 seeds failing"), "{report}");
    assert!(report.contains("matrix commit-after-crash cache-dedup: "), "{report}");
}

#[test]
fn a_registry_refuses_a_taken_name_and_parses_user_strategies_with_the_built_ins() {
    let mut registry = Registry::builtin();
    registry.register(&example::CACHE_DEDUP).unwrap();
    assert!(registry.register(&example::CACHE_DEDUP).is_err(), "a name taken twice");
    let set = registry.parse("key+cache-dedup").unwrap();
    assert_eq!(set.name(), "key+cache-dedup");
    // It composes by the same rule: two consumer mechanisms conflict.
    let error = registry.parse("cache-dedup+idempotent-consumer").unwrap_err().to_string();
    assert!(error.contains("consumer.policy"), "{error}");
    // The built-in registry does not know it.
    assert!(ordo::strategy::StrategySet::parse("cache-dedup").is_err());
    assert_eq!(registry.all().len(), ordo::strategy::all().len() + 1);
    assert_eq!(registry.all().last().unwrap().name(), example::CACHE_DEDUP.name());
}

/// A producer-side strategy of a user's: every event goes to partition 0, and its stamp is
/// a Lamport counter it keeps itself (merged on hand-offs).
struct FirstPartition;

static FIRST_PARTITION: FirstPartition = FirstPartition;

struct FirstPartitionHooks {
    counter: i64,
}

impl ordo::strategy::ProducerHooks for FirstPartitionHooks {
    fn stamp(&mut self, cx: &mut ordo::strategy::StampCx<'_>) {
        self.counter += 1;
        cx.lamport(self.counter);
    }
    fn merge(&mut self, carried: ordo::strategy::Carried<'_>) {
        self.counter = self.counter.max(carried.lamport());
    }
    fn partition(&mut self, _entity: u32, _partitions: u32) -> Option<u32> {
        Some(0)
    }
}

impl Strategy for FirstPartition {
    fn name(&self) -> &'static str {
        "first-partition"
    }
    fn summary(&self) -> &'static str {
        "everything to partition 0, Lamport-stamped"
    }
    fn settings(&self) -> &'static [ordo::strategy::Setting] {
        use ordo::strategy::{Setting, Side::Producer};
        const SETTINGS: &[Setting] = &[Setting::set(Producer, "producer.clock", "lamport")];
        SETTINGS
    }
    fn configure(&self, scenario: &mut ordo::scenario::Scenario) {
        scenario.producer.clock = ordo::scenario::ClockKind::Lamport;
    }
    fn producer_hooks(&self, _: &mut ordo::strategy::Setup<'_>) -> Option<Box<dyn ordo::strategy::ProducerHooks>> {
        Some(Box::new(FirstPartitionHooks { counter: 0 }))
    }
}

#[test]
fn producer_hooks_choose_the_partition_and_stamp_the_clock() {
    let mut registry = Registry::builtin();
    registry.register(&FIRST_PARTITION).unwrap();
    let path = std::path::Path::new("scenarios/vector-clock-causal-delivery.toml");
    let run = |spec: &str| {
        let result = ordo::run::run(ordo::run::RunSpec {
            scenario: ordo::scenario::Scenario::load(path).unwrap(),
            scenario_path: path,
            strategy: registry.parse(spec).unwrap(),
            seed: 1,
            history_mode: ordo::history::HistoryMode::On,
            history_file: None,
            keep_history: true,
        })
        .unwrap();
        String::from_utf8(result.history.jsonl.expect("kept")).unwrap()
    };
    let partitions = |jsonl: &str| -> std::collections::BTreeSet<u64> {
        jsonl
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|r| r["type"] == "append")
            .map(|r| r["partition"].as_u64().unwrap())
            .collect()
    };
    let ours = run("first-partition");
    assert_eq!(partitions(&ours), [0].into_iter().collect(), "every append in partition 0");
    assert!(partitions(&run("unkeyed")).len() > 1, "without it the events spread");
    // Its stamps are in the history, and the checker finds the clock condition kept (every
    // cause's stamp below its effect's: the merge on hand-offs works).
    assert!(ours.contains("\"lamport\":"), "stamps written");
    let report = ordo::checker::check_reader(ours.as_bytes(), "t", None).unwrap();
    assert!(!report.all_counts().contains_key("clock_condition"), "{:?}", report.all_counts());
}
