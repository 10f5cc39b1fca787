//! Mutated bundled scenarios: numeric boundary values, deleted and duplicated keys, `*`
//! links with extreme rates, huge sizes. Every input either is refused with an error that
//! names its field (or line), which `ordo` turns into exit 2, or runs to a stop within its
//! caps. Nothing panics, aborts or wraps: tests build with overflow checks on (the test
//! profile), so a wrapping counter or time fails here.

use std::path::Path;
use std::process::Command;

use ordo::bundled;
use ordo::history::HistoryMode;
use ordo::run::{run, RunSpec};
use ordo::scenario::{Scenario, ScenarioError, MAX_EVENTS};
use ordo::strategy::StrategySet;
use ordo_sim::StopReason;
use proptest::prelude::*;
use toml::{Table, Value};

/// Caps for mutated runs, so the whole test stays within about a minute.
const CAP_EVENTS: u64 = 60_000;
const CAP_TIME_MS: u64 = 120_000;

const BOUNDARIES: [i64; 16] = [
    0,
    1,
    -1,
    2,
    999_999,
    1_000_000,
    1_000_001,
    86_400_000,
    86_400_001,
    4_294_967_295,
    4_294_967_296,
    18_446_744_073_709,
    i64::MAX / 1_000_000 + 1,
    i64::MAX,
    i64::MIN,
    123_456_789_012,
];

/// Every integer leaf of a table: (path, is in an array of tables).
fn integer_paths(table: &Table, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in table {
        prefix.push(key.clone());
        match value {
            Value::Integer(_) => out.push(prefix.clone()),
            Value::Table(inner) => integer_paths(inner, prefix, out),
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    if let Value::Table(inner) = item {
                        prefix.push(index.to_string());
                        integer_paths(inner, prefix, out);
                        prefix.pop();
                    }
                }
            }
            _ => {}
        }
        prefix.pop();
    }
}

/// Every key path (any value).
fn key_paths(table: &Table, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for (key, value) in table {
        prefix.push(key.clone());
        out.push(prefix.clone());
        if let Value::Table(inner) = value {
            key_paths(inner, prefix, out);
        }
        prefix.pop();
    }
}

fn slot<'a>(table: &'a mut Table, path: &[String]) -> Option<(&'a mut Table, String)> {
    let (last, parents) = path.split_last()?;
    let mut current = table;
    let mut index = 0;
    while index < parents.len() {
        let value = current.get_mut(&parents[index])?;
        current = match value {
            Value::Table(inner) => inner,
            Value::Array(items) => {
                index += 1;
                let at: usize = parents.get(index)?.parse().ok()?;
                items.get_mut(at)?.as_table_mut()?
            }
            _ => return None,
        };
        index += 1;
    }
    Some((current, last.clone()))
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Set the n-th integer to a boundary value (or a boundary ± a small step).
    Boundary { which: usize, value: usize, nudge: i64 },
    /// Set a known size or time field (maybe absent from the file) to a boundary value.
    Known { field: usize, value: usize },
    /// Delete the n-th key.
    Delete { which: usize },
    /// Write the n-th `key = value` line twice (a TOML error naming the line).
    Duplicate { line: usize },
    /// Add a `*` → `*` link with extreme rates.
    StarLink { loss: usize, duplicate: usize, latency: usize },
}

const KNOWN: [&str; 16] = [
    "workload.entities",
    "workload.events_per_entity",
    "workload.start_window_ms",
    "workload.think_max_us",
    "producer.batch_size",
    "producer.retries",
    "producer.retry_backoff_ms",
    "producer.delivery_timeout_ms",
    "consumer.max_poll_records",
    "consumer.processing_max_us",
    "topology.partitions",
    "topology.producers",
    "topology.consumers",
    "run.max_time_ms",
    "run.max_events",
    "network.latency_max_us",
];

const PPM: [i64; 5] = [0, 1, 500_000, 999_999, 1_000_000];
const LATENCY_US: [(i64, i64); 4] = [(0, 0), (0, 1), (3_600_000_000, 3_600_000_000), (1, 3_600_000_000)];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), 0..BOUNDARIES.len(), -2i64..=2)
            .prop_map(|(which, value, nudge)| Mutation::Boundary { which, value, nudge }),
        2 => (0..KNOWN.len(), 0..BOUNDARIES.len()).prop_map(|(field, value)| Mutation::Known { field, value }),
        1 => any::<usize>().prop_map(|which| Mutation::Delete { which }),
        1 => any::<usize>().prop_map(|line| Mutation::Duplicate { line }),
        2 => (0..PPM.len(), 0..PPM.len(), 0..LATENCY_US.len())
            .prop_map(|(loss, duplicate, latency)| Mutation::StarLink { loss, duplicate, latency }),
    ]
}

/// Applies the mutations to a scenario's text; returns the new text.
fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut table: Table = toml::from_str(text).expect("bundled scenarios parse");
    let mut duplicate_line = None;
    for mutation in mutations {
        match *mutation {
            Mutation::Boundary { which, value, nudge } => {
                let mut paths = Vec::new();
                integer_paths(&table, &mut Vec::new(), &mut paths);
                if paths.is_empty() {
                    continue;
                }
                let path = &paths[which % paths.len()];
                if let Some((parent, key)) = slot(&mut table, path) {
                    parent.insert(key, Value::Integer(BOUNDARIES[value].saturating_add(nudge)));
                }
            }
            Mutation::Known { field, value } => {
                let (section, key) = KNOWN[field].split_once('.').unwrap();
                let entry = table.entry(section.to_string()).or_insert_with(|| Value::Table(Table::new()));
                if let Value::Table(inner) = entry {
                    inner.insert(key.to_string(), Value::Integer(BOUNDARIES[value]));
                }
            }
            Mutation::Delete { which } => {
                let mut paths = Vec::new();
                key_paths(&table, &mut Vec::new(), &mut paths);
                let path = &paths[which % paths.len()];
                if let Some((parent, key)) = slot(&mut table, path) {
                    parent.remove(&key);
                }
            }
            Mutation::Duplicate { line } => duplicate_line = Some(line),
            Mutation::StarLink { loss, duplicate, latency } => {
                let mut link = Table::new();
                link.insert("from".into(), Value::String("*".into()));
                link.insert("to".into(), Value::String("*".into()));
                link.insert("loss_ppm".into(), Value::Integer(PPM[loss]));
                link.insert("duplicate_ppm".into(), Value::Integer(PPM[duplicate]));
                link.insert("latency_min_us".into(), Value::Integer(LATENCY_US[latency].0));
                link.insert("latency_max_us".into(), Value::Integer(LATENCY_US[latency].1));
                let links = table.entry("link".to_string()).or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = links {
                    items.push(Value::Table(link));
                }
            }
        }
    }
    let mut text = toml::to_string(&table).expect("a table serializes");
    if let Some(line) = duplicate_line {
        let lines: Vec<&str> = text.lines().collect();
        let assignments: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains(" = ")).collect();
        if !assignments.is_empty() {
            let at = assignments[line % assignments.len()];
            let mut out: Vec<&str> = lines[..=at].to_vec();
            out.push(lines[at]);
            out.extend_from_slice(&lines[at + 1..]);
            text = out.join("\n");
        }
    }
    text
}

/// An error must say where: a field, or a line of the file.
fn assert_names_where(error: &ScenarioError, text: &str) {
    match error {
        ScenarioError::Invalid { field, message, .. } => {
            assert!(!field.is_empty() && !message.is_empty(), "{error}\n{text}");
        }
        ScenarioError::Parse { message, .. } => {
            let says_where = message.contains("line ") || message.contains('`') || message.contains("field");
            assert!(says_where, "a parse error that names no line or field: {error}\n{text}");
        }
        ScenarioError::Read { .. } => panic!("nothing is read from disk here: {error}"),
    }
}

fn run_capped(mut scenario: Scenario, text: &str) {
    scenario.run.max_events = scenario.run.max_events.min(CAP_EVENTS);
    scenario.run.max_time_ms = scenario.run.max_time_ms.min(CAP_TIME_MS);
    let (max_events, max_time_ns) = (scenario.run.max_events, scenario.run.max_time_ms * 1_000_000);
    let strategy = match StrategySet::parse(&scenario.strategy) {
        Ok(strategy) => strategy,
        Err(_) => return, // a strategy name is not a number: nothing here mutates it
    };
    let seed = scenario.seed;
    let result = run(RunSpec {
        scenario,
        scenario_path: Path::new("fuzz.toml"),
        strategy,
        seed,
        history_mode: HistoryMode::Compact,
        history_file: None,
        keep_history: false,
    })
    .expect("no history file to write");
    let outcome = result.outcome;
    assert!(outcome.stats.events <= max_events, "{outcome:?}\n{text}");
    assert!(outcome.end_ns <= max_time_ns, "{outcome:?}\n{text}");
    assert!(outcome.reason != StopReason::Livelock, "{:?}\n{text}", result.livelock);
    if outcome.reason == StopReason::Stopped {
        assert!(result.stats.created > 0 || result.stats.chains_cut > 0, "done without work\n{text}");
    }
}

#[test]
fn mutated_scenarios_are_refused_by_field_or_run_within_their_caps() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::Cell;
    let catalog = bundled::catalog(None).unwrap();
    let (refused, ran) = (Cell::new(0u32), Cell::new(0u32));
    let config = Config { cases: 320, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let inputs = (any::<usize>(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&inputs, |(which, mutations)| {
            let source = &catalog[which % catalog.len()];
            let text = mutate(&source.text, &mutations);
            match Scenario::parse(&text, "fuzz.toml", &source.stem) {
                Err(error) => {
                    assert_names_where(&error, &text);
                    refused.set(refused.get() + 1);
                }
                Ok(scenario) => {
                    run_capped(scenario, &text);
                    ran.set(ran.get() + 1);
                }
            }
            Ok(())
        })
        .unwrap();
    // Both outcomes are exercised, each many times.
    assert!(refused.get() >= 40 && ran.get() >= 40, "refused {}, ran {}", refused.get(), ran.get());
}

#[test]
fn every_bundled_scenario_with_a_star_link_at_the_extremes_runs_within_its_caps() {
    for source in bundled::catalog(None).unwrap() {
        for (loss, duplicate, latency) in [(0, 4, 0), (4, 0, 1), (2, 2, 3), (1, 3, 0)] {
            let text = mutate(&source.text, &[Mutation::StarLink { loss, duplicate, latency }]);
            let scenario = Scenario::parse(&text, "fuzz.toml", &source.stem).unwrap_or_else(|e| panic!("{e}"));
            run_capped(scenario, &text);
        }
    }
}

fn ordo_run(name: &str, text: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("ordo-fuzz-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ordo")).arg("run").arg(&path).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn far_future_faults_exit_2_naming_the_field() {
    // 18,446,744,073,710 ms × 10⁶ wraps u64 to about 0.45 ms: the crash used to fire at once.
    let (code, stderr) = ordo_run("at.toml", "[[fault]]\nat_ms = 18446744073710\nkind = \"crash\"\nnode = \"b0\"\n");
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("fault[0].at_ms") && stderr.contains("86400000"), "{stderr}");
    let text = "[[fault]]\nat_ms = 10\nkind = \"partition\"\nfrom = \"p0\"\nto = \"b0\"\nheal_at_ms = 86400001\n";
    let (code, stderr) = ordo_run("heal.toml", text);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("fault[0].heal_at_ms"), "{stderr}");
    // At the bound it is accepted (and lies beyond the run's time limit).
    let text = "[run]\nmax_time_ms = 2000\n[[fault]]\nat_ms = 86400000\nkind = \"crash\"\nnode = \"b0\"\n";
    let (code, stderr) = ordo_run("bound.toml", text);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_event_count_is_validated_as_a_product_at_its_limit() {
    assert_eq!(MAX_EVENTS, 1_000_000_000);
    // Each field alone is in range; the product is exactly the limit: accepted.
    let at = "[workload]\nentities = 1000000\nevents_per_entity = 1000\n";
    let scenario = Scenario::parse(at, "limit.toml", "limit").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(u64::from(scenario.workload.entities) * u64::from(scenario.workload.events_per_entity), MAX_EVENTS);
    // One entity more: refused, naming both fields.
    let over = "[workload]\nentities = 1000001\nevents_per_entity = 1000\n";
    let error = Scenario::parse(over, "limit.toml", "limit").unwrap_err().to_string();
    assert!(error.contains("workload.entities") && error.contains("workload.events_per_entity"), "{error}");
    assert!(error.contains("1000001 × 1000 = 1000001000"), "{error}");
    let (code, stderr) = ordo_run("over.toml", over);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("workload.entities × workload.events_per_entity"), "{stderr}");
    // The largest fields allowed alone used to pass and wrap event ids (10^13 > 2^32).
    let wrap = "[workload]\nentities = 10000000\nevents_per_entity = 1000000\n";
    assert!(Scenario::parse(wrap, "limit.toml", "limit").is_err());
}

#[test]
fn a_workload_at_the_limit_costs_only_what_the_run_does() {
    // 10^9 planned events used to reserve tens of GB before the first event (and abort);
    // memory now grows with the events created, which run.max_events bounds.
    let text = "[workload]\nentities = 1000000\nevents_per_entity = 1000\nstart_window_ms = 10000\n[run]\nmax_events = 20000\n";
    let scenario = Scenario::parse(text, "limit.toml", "limit").unwrap();
    let result = run(RunSpec {
        strategy: StrategySet::parse(&scenario.strategy).unwrap(),
        seed: 1,
        scenario,
        scenario_path: Path::new("limit.toml"),
        history_mode: HistoryMode::Off,
        history_file: None,
        keep_history: false,
    })
    .unwrap();
    assert_eq!(result.outcome.reason, StopReason::EventLimit);
    assert!(result.stats.created > 0 && result.stats.created < 1_000_000, "{}", result.stats.created);
}

#[test]
fn duplicated_and_lost_application_handoffs_do_not_move_the_counts() {
    // Three producers hand each entity's steps round; a `*` link duplicating everything
    // used to duplicate the handoffs too, create steps twice and underflow the count of
    // unresolved events (a panic with overflow checks; in release the run missed its end
    // and ran into the time limit). Links between producers are the application's own and
    // stay reliable.
    let text = "[topology]\nproducers = 3\n[workload]\nhandoff = \"rotate\"\n[[link]]\nfrom = \"producers\"\nto = \"*\"\nboth = true\nduplicate_ppm = 1000000\n";
    let scenario = Scenario::parse(text, "dup.toml", "dup").unwrap();
    let planned = u64::from(scenario.workload.entities) * u64::from(scenario.workload.events_per_entity);
    let result = run(RunSpec {
        strategy: StrategySet::parse(&scenario.strategy).unwrap(),
        seed: 1,
        scenario,
        scenario_path: Path::new("dup.toml"),
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: false,
    })
    .unwrap();
    assert_eq!(result.outcome.reason, StopReason::Stopped, "{:?}", result.outcome);
    assert_eq!(result.stats.created, planned);
    assert_eq!(result.stats.acked, planned);
    assert!(result.outcome.stats.duplicated > 0, "the Kafka traffic was duplicated");
    let lossy = "[topology]\nproducers = 3\n[workload]\nhandoff = \"rotate\"\n[[fault]]\nat_ms = 0\nkind = \"partition\"\nfrom = \"producers\"\nto = \"producers\"\n";
    let scenario = Scenario::parse(lossy, "cut.toml", "cut").unwrap();
    let result = run(RunSpec {
        strategy: StrategySet::parse(&scenario.strategy).unwrap(),
        seed: 1,
        scenario,
        scenario_path: Path::new("cut.toml"),
        history_mode: HistoryMode::Off,
        history_file: None,
        keep_history: false,
    })
    .unwrap();
    assert_eq!(result.outcome.reason, StopReason::Stopped, "{:?}", result.outcome);
    assert_eq!(result.stats.created, planned, "a partition between producers cuts no chain");
}
