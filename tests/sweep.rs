//! `ordo sweep` end to end: output independent of the thread count, reproduce commands that
//! reproduce, the idempotent producer clean over seeds, and bad input (exit 2, the flag or
//! file named, never a panic).

use std::process::{Command, Output};

use serde_json::Value;

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `ordo sweep SCENARIO ARGS… --json`; checks it exits 0 and prints nothing on stderr
/// (no progress bar when stderr is not a terminal).
fn sweep_json(scenario: &str, args: &[&str]) -> Value {
    let mut all = vec!["sweep", scenario, "--json"];
    all.extend_from_slice(args);
    let output = ordo(&all);
    assert_eq!(output.status.code(), Some(0), "{all:?}: {}", stderr(&output));
    assert_eq!(stderr(&output), "", "{all:?} wrote to stderr");
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

fn without_timing(mut sweep: Value) -> Value {
    let timing = sweep.as_object_mut().unwrap().remove("timing").expect("a timing object");
    for key in ["threads", "wall_ms", "runs_per_sec", "events_per_sec"] {
        assert!(timing.get(key).is_some(), "timing lacks {key}");
    }
    sweep
}

fn kinds(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list.as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

#[test]
fn output_is_the_same_for_one_and_two_threads() {
    let one = sweep_json("scenarios/quickstart.toml", &["--seeds", "16", "--threads", "1"]);
    let two = sweep_json("scenarios/quickstart.toml", &["--seeds", "16", "--threads", "2"]);
    assert_eq!(one["timing"]["threads"], 1);
    assert_eq!(two["timing"]["threads"], 2);
    let (one, two) = (without_timing(one), without_timing(two));
    assert_eq!(serde_json::to_string_pretty(&one).unwrap(), serde_json::to_string_pretty(&two).unwrap());
    assert_eq!(one["seeds"], serde_json::json!({"first": 1, "last": 16, "count": 16}));
    assert_eq!(one["stop_reasons"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum::<u64>(), 16);
    for metric in ["latency_mean_ns", "latency_max_ns", "retries", "duplicate_applies", "sim_time_ns"] {
        let d = &one["metrics"][metric];
        let values: Vec<u64> = ["min", "p50", "p90", "p99", "max"].iter().map(|k| d[k].as_u64().unwrap()).collect();
        assert!(values.windows(2).all(|w| w[0] <= w[1]), "{metric}: {d}");
    }

    // The readable summary too, but for its last line (timing).
    let text = |threads: &str| {
        let output = ordo(&["sweep", "scenarios/quickstart.toml", "--seeds", "3..10", "--threads", threads]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, timing) = text.trim_end().rsplit_once('\n').unwrap();
        assert!(timing.starts_with("timing: "), "{timing}");
        body.to_string()
    };
    assert_eq!(text("1"), text("2"));
}

#[test]
fn every_failing_seed_reproduces_with_ordo_run() {
    let sweep = sweep_json("scenarios/quickstart.toml", &["--seeds", "24"]);
    let failing = sweep["failing"].as_array().unwrap();
    assert!(sweep["violation_rate"].as_f64().unwrap() > 0.0, "{sweep}");
    assert_eq!(failing.len() as u64, sweep["failing_seeds"].as_u64().unwrap());
    // --json lists every failing seed, beyond the text's default of 20.
    assert!(failing.len() > 20, "{sweep}");
    for entry in [&failing[0], &failing[failing.len() / 2], &failing[failing.len() - 1]] {
        let command = entry["reproduce"].as_str().unwrap();
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(words[..2], ["ordo", "run"], "{command}");
        assert!(command.contains(&format!("--seed {} ", entry["seed"])), "{command}");
        let mut args = words[1..].to_vec();
        args.push("--json");
        let output = ordo(&args);
        assert!(output.status.success(), "{command}: {}", stderr(&output));
        let run: Value = serde_json::from_slice(&output.stdout).unwrap();
        let violations = run["violations"].as_object().unwrap();
        assert!(!violations.is_empty(), "{command}: {run}");
        let mut run_kinds: Vec<String> = violations.keys().cloned().collect();
        run_kinds.sort();
        assert_eq!(run_kinds, kinds(&entry["violated_kinds"]), "{command}");
    }
    // Every violated kind's seed count adds up with the failing list.
    for (kind, tally) in sweep["violations"].as_object().unwrap() {
        let seeds = failing.iter().filter(|f| kinds(&f["violated_kinds"]).contains(kind)).count() as u64;
        assert_eq!(tally["seeds"].as_u64().unwrap(), seeds, "{kind}");
    }
}

#[test]
fn the_idempotent_producer_violates_nothing_over_twenty_seeds() {
    let sweep = sweep_json("scenarios/idempotent-producer.toml", &["--seeds", "1..20"]);
    assert_eq!(sweep["seeds"]["count"], 20);
    assert_eq!(sweep["violation_rate"], 0.0, "{sweep}");
    assert_eq!(sweep["failing"], serde_json::json!([]));
    assert_eq!(sweep["violations"], serde_json::json!({}));
    // Retries happen, and the broker deduplicates them: no duplicate applies.
    assert!(sweep["metrics"]["retries"]["max"].as_u64().unwrap() > 0, "{sweep}");
    assert_eq!(sweep["metrics"]["duplicate_applies"]["max"], 0);
}

#[test]
fn exit_code_is_0_whatever_the_sweep_found_unless_asked() {
    let failing = ["sweep", "scenarios/quickstart.toml", "--seeds", "4", "--show-failing", "2"];
    let output = ordo(&failing);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("failing seeds (4, showing 2)"), "{text}");
    assert!(text.contains("ordo run scenarios/quickstart.toml --seed 2 --strategy key  # "), "{text}");
    assert!(!text.contains("--seed 3 "), "{text}");
    assert!(text.contains("… and 2 more"), "{text}");
    assert_eq!(ordo(&[&failing[..], &["--fail-on-violation"]].concat()).status.code(), Some(1));
    let clean = ["sweep", "scenarios/idempotent-producer.toml", "--seeds", "3", "--fail-on-violation"];
    assert_eq!(ordo(&clean).status.code(), Some(0));
}

fn assert_bad_input(args: &[&str], mentions: &[&str]) {
    let output = ordo(args);
    let error = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {error}");
    assert!(!error.contains("panicked"), "{error}");
    assert!(output.stdout.is_empty(), "{args:?} printed a summary");
    for needle in mentions {
        assert!(error.contains(needle), "{args:?}: {error:?} does not mention {needle:?}");
    }
}

#[test]
fn bad_input_exits_2_and_names_the_flag_or_file() {
    let quickstart = "scenarios/quickstart.toml";
    assert_bad_input(&["sweep", quickstart, "--seeds", "5..2"], &["--seeds 5..2", "A ≤ B"]);
    assert_bad_input(&["sweep", quickstart, "--seeds", "abc"], &["--seeds abc", "\"abc\"", "1..1000"]);
    assert_bad_input(&["sweep", quickstart, "--seeds", "0"], &["--seeds 0", "expected"]);
    assert_bad_input(&["sweep", quickstart, "--seeds", "1..20000000"], &["--seeds 1..20000000", "10000000"]);
    assert_bad_input(&["sweep", quickstart, "--strategy", "key+nope"], &["--strategy", "\"nope\"", "idempotent"]);
    assert_bad_input(&["sweep", quickstart, "--threads", "0"], &["--threads 0", "expected"]);
    assert_bad_input(&["sweep", quickstart, "--threads", "many"], &["--threads"]);
    assert_bad_input(&["sweep", "scenarios/does-not-exist.toml"], &["does-not-exist.toml", "cannot read"]);
}

#[test]
fn runs_cut_short_by_a_limit_are_checked_like_any_other() {
    // A run stopped by a limit still records a state for every planned entity, started
    // or not; the sweep's compact check must take those as `ordo check` does.
    for (limit, reason) in [("run.max_time_ms=20", "time_limit"), ("run.max_events=3", "event_limit")] {
        let sweep = sweep_json("scenarios/quickstart.toml", &["--seeds", "3", "--set", limit]);
        assert_eq!(sweep["seeds"]["count"], 3, "{limit}: {sweep}");
        assert_eq!(sweep["stop_reasons"][reason], 3, "{limit}: {sweep}");
    }
}

#[test]
fn every_run_counter_has_a_distribution_in_the_sweep() {
    let sweep = sweep_json("scenarios/quickstart.toml", &["--seeds", "4", "--threads", "2"]);
    let metrics = sweep["metrics"].as_object().unwrap();
    let runs: Vec<Value> = (1..=4)
        .map(|seed| {
            let output = ordo(&["run", "scenarios/quickstart.toml", "--seed", &seed.to_string(), "--json"]);
            assert!(output.status.success(), "{}", stderr(&output));
            serde_json::from_slice(&output.stdout).unwrap()
        })
        .collect();
    // The run's counters: everything in `workload` and `network`, and the integer counters
    // at the top level (events, simulated time, history records).
    let mut counters: Vec<(String, Vec<Option<u64>>)> = Vec::new();
    for object in ["workload", "network"] {
        for key in runs[0][object].as_object().unwrap().keys() {
            counters.push((key.clone(), runs.iter().map(|run| run[object][key].as_u64()).collect()));
        }
    }
    for key in ["events", "sim_time_ns", "history_records"] {
        counters.push((key.to_string(), runs.iter().map(|run| run[key].as_u64()).collect()));
    }
    let mut run_names: Vec<&str> = counters.iter().map(|(name, _)| name.as_str()).collect();
    let mut sweep_names: Vec<&str> = metrics.keys().map(String::as_str).collect();
    run_names.sort_unstable();
    sweep_names.sort_unstable();
    assert_eq!(run_names, sweep_names, "the sweep's counters are exactly the run's");
    // The counters the fidelity issue named, among them.
    for key in [
        "rejects",
        "unclean_elections",
        "rejected_commits",
        "failed_batches",
        "out_of_order_appends",
        "dead_lettered",
        "conflicts",
        "held_at_end",
    ] {
        assert!(metrics.contains_key(key), "{key}");
    }
    // Each distribution is the one of the four runs' values.
    for (name, values) in &counters {
        let mut present: Vec<u64> = values.iter().flatten().copied().collect();
        present.sort_unstable();
        let d = &metrics[name.as_str()];
        assert_eq!(d["runs"].as_u64().unwrap(), present.len() as u64, "{name}");
        assert_eq!(d["nonzero"].as_u64().unwrap(), present.iter().filter(|&&v| v != 0).count() as u64, "{name}");
        if let (Some(min), Some(max)) = (present.first(), present.last()) {
            assert_eq!(d["min"].as_u64(), Some(*min), "{name}");
            assert_eq!(d["max"].as_u64(), Some(*max), "{name}");
            assert_eq!(d["p50"].as_u64(), Some(present[1]), "{name}: nearest rank 2 of 4");
        }
    }
}
