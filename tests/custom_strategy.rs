//! The example strategy written outside the crate (`examples/custom_strategy.rs`) registers
//! next to the built-ins, runs through a sweep and the matrix, and keeps its promise:
//! producer-side duplicates are discarded, while a consumer crash between an apply and its
//! separate store write lets a copy through (the dual-write hazard), which the built-in
//! idempotent consumer, whose table is written with the apply, never does.

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
