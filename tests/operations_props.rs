//! The final-state judgement of non-idempotent operations (the header's `operations`:
//! `increment`, `append`), on random histories: a clean one gives nothing; a duplicate
//! apply of an increment is found as a wrong total with the re-apply as witness; a list
//! applied out of causal order is found as a wrong list. And ordo's own runs: with
//! `workload.operation = "increment"` the duplicates of `counter-duplicates` show in the
//! counter, and the same runs with `set` show no stale state.

use std::fmt::Write as _;
use std::path::Path;

use ordo::checker::{check_reader, Kind, Report};
use proptest::prelude::*;

/// Entities, each a causal chain of events with an amount (may be negative) and a unique
/// item; the order in which the chains are interleaved.
#[derive(Clone, Debug)]
struct Plan {
    amounts: Vec<Vec<i64>>,
    interleave: Vec<usize>,
}

/// A nonzero amount (a duplicate of it always moves the total).
fn amount() -> impl Strategy<Value = i64> {
    (-1000i64..1000).prop_map(|a| if a >= 0 { a + 1 } else { a })
}

fn plan() -> impl Strategy<Value = Plan> {
    proptest::collection::vec(proptest::collection::vec(amount(), 1..6), 1..5).prop_flat_map(|amounts| {
        let total: usize = amounts.iter().map(Vec::len).sum();
        let entities = amounts.len();
        proptest::collection::vec(0..entities, total..=total)
            .prop_map(move |interleave| Plan { amounts: amounts.clone(), interleave })
    })
}

/// An apply: (entity, step).
type Apply = (usize, usize);

/// The applies in causal order per entity, interleaved across entities as planned.
fn applies(plan: &Plan) -> Vec<Apply> {
    let mut next = vec![0usize; plan.amounts.len()];
    let mut out = Vec::new();
    for &pick in &plan.interleave {
        // The planned entity if it has events left, else the first that has.
        let entity = (0..plan.amounts.len())
            .map(|k| (pick + k) % plan.amounts.len())
            .find(|&e| next[e] < plan.amounts[e].len())
            .expect("events left");
        out.push((entity, next[entity]));
        next[entity] += 1;
    }
    out
}

fn id(entity: usize, step: usize) -> usize {
    entity * 100 + step + 1
}

/// The history of `plan` applied as `order` says (the state is what those applies make).
fn history(plan: &Plan, order: &[Apply]) -> String {
    let mut h = String::from(
        "{\"format\":\"ordo-history\",\"version\":1,\"operations\":{\"total\":\"increment\",\"log\":\"append\"}}\n",
    );
    let mut t = 100;
    for (entity, amounts) in plan.amounts.iter().enumerate() {
        for (step, amount) in amounts.iter().enumerate() {
            let deps = if step == 0 { String::new() } else { id(entity, step - 1).to_string() };
            writeln!(
                h,
                "{{\"type\":\"create\",\"t\":{t},\"node\":\"p0\",\"id\":{},\"entity\":\"e{entity}\",\"deps\":[{deps}],\"writes\":{{\"total\":\"{amount}\",\"log\":\"i{step}\"}}}}",
                id(entity, step)
            )
            .unwrap();
            t += 10;
        }
    }
    for &(entity, step) in order {
        writeln!(h, "{{\"type\":\"apply\",\"t\":{t},\"node\":\"c0\",\"group\":\"g\",\"id\":{}}}", id(entity, step))
            .unwrap();
        t += 10;
    }
    for (entity, amounts) in plan.amounts.iter().enumerate() {
        let mine: Vec<usize> = order.iter().filter(|a| a.0 == entity).map(|a| a.1).collect();
        let total: i64 = mine.iter().map(|&s| amounts[s]).sum();
        let log: Vec<String> = mine.iter().map(|s| format!("i{s}")).collect();
        writeln!(
            h,
            "{{\"type\":\"state\",\"t\":{t},\"group\":\"g\",\"entity\":\"e{entity}\",\"fields\":{{\"total\":\"{total}\",\"log\":\"{}\"}}}}",
            log.join(",")
        )
        .unwrap();
    }
    writeln!(h, "{{\"type\":\"end\",\"t\":{t},\"reason\":\"quiescent\"}}").unwrap();
    h
}

fn check(text: &str) -> Report {
    check_reader(text.as_bytes(), "ops.jsonl", None).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn clean_counters_and_lists_give_nothing(p in plan()) {
        let report = check(&history(&p, &applies(&p)));
        prop_assert!(report.all_counts().is_empty(), "{:?}", report.all_counts());
    }

    #[test]
    fn a_duplicate_increment_is_found_with_its_witness(p in plan(), pick in any::<usize>()) {
        let mut order = applies(&p);
        let again = order[pick % order.len()];
        order.push(again);
        let text = history(&p, &order);
        let report = check(&text);
        let counts = report.all_counts();
        prop_assert_eq!(counts.get("duplicate_apply"), Some(&1));
        prop_assert_eq!(counts.get("final_state"), Some(&1), "{:?}", counts);
        let v = report.violations.iter().find(|v| v.kind == Kind::FinalState).expect("reported");
        prop_assert!(v.scope.ends_with(&format!("entity e{}", again.0)), "{}", v.scope);
        prop_assert!(v.message.contains("total is") && v.message.contains("log is"), "{}", v.message);
        // The re-apply is the last apply line: header, creates, applies.
        let creates: usize = p.amounts.iter().map(Vec::len).sum();
        let reapply_line = (1 + creates + order.len()) as u64;
        prop_assert!(v.witness.iter().any(|w| w.line == reapply_line), "{:?}", v.witness);
    }

    #[test]
    fn a_list_out_of_causal_order_is_found(p in plan(), pick in any::<usize>()) {
        // Swap an entity's first two applies (when it has two).
        let mut order = applies(&p);
        let candidates: Vec<usize> = (0..p.amounts.len()).filter(|&e| p.amounts[e].len() >= 2).collect();
        prop_assume!(!candidates.is_empty());
        let entity = candidates[pick % candidates.len()];
        let a = order.iter().position(|&x| x == (entity, 0)).unwrap();
        let b = order.iter().position(|&x| x == (entity, 1)).unwrap();
        order.swap(a, b);
        let report = check(&history(&p, &order));
        let counts = report.all_counts();
        prop_assert_eq!(counts.get("final_state"), Some(&1), "{:?}", counts);
        prop_assert_eq!(counts.get("per_key_reorder"), Some(&1), "{:?}", counts);
        let v = report.violations.iter().find(|v| v.kind == Kind::FinalState).expect("reported");
        prop_assert!(v.message.contains("lists i1 before i0"), "{}", v.message);
        prop_assert!(!v.message.contains("total is"), "the total is right: {}", v.message);
    }
}

/// ordo's own runs: the same crash, with the counter and without it.
#[test]
fn counter_duplicates_show_in_the_count_and_not_in_a_status() {
    let path = Path::new("scenarios/counter-duplicates.toml");
    let run = |operation: &str, strategy: &str, seed: u64| {
        let mut scenario = ordo::scenario::Scenario::load(path).unwrap();
        scenario.workload.operation = match operation {
            "set" => ordo::scenario::Operation::Set,
            _ => ordo::scenario::Operation::Increment,
        };
        let result = ordo::run::run(ordo::run::RunSpec {
            scenario,
            scenario_path: path,
            strategy: ordo::strategy::StrategySet::parse(strategy).unwrap(),
            seed,
            history_mode: ordo::history::HistoryMode::On,
            history_file: None,
            keep_history: true,
        })
        .unwrap();
        let jsonl = result.history.jsonl.as_ref().expect("kept");
        let report = check_reader(jsonl.as_slice(), "run.jsonl", None).unwrap();
        (result.stats.duplicate_applies, report.all_counts().get("final_state").copied().unwrap_or(0))
    };
    let (mut counted, mut wrong, mut stale_status) = (0, 0, 0);
    for seed in 1..=10 {
        let (duplicates, found) = run("increment", "key+idempotent", seed);
        counted += duplicates;
        wrong += found;
        assert!(duplicates == 0 || found > 0, "seed {seed}: {duplicates} duplicate applies, no wrong counter");
        stale_status += run("set", "key+idempotent", seed).1;
        assert_eq!(run("increment", "key+idempotent+idempotent-consumer", seed), (0, 0), "seed {seed}");
    }
    assert!(counted > 0 && wrong > 0);
    assert!(stale_status < wrong, "a status set twice is mostly right: {stale_status} vs {wrong}");
}
