//! `[random_faults]` and swarm mode: drawn schedules are a function of the seed, follow the
//! `[[fault]]` sequence rules, replay exactly once saved as a scripted scenario, and never
//! make the model panic or write a history its checker rejects.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ordo::history::HistoryMode;
use ordo::run::{run, RunResult, RunSpec};
use ordo::scenario::random::{check_fault_sequence, draw, merge};
use ordo::scenario::{RandomKind, Scenario};
use ordo::strategy::StrategySet;
use proptest::prelude::*;

const SWARM: &str = "scenarios/swarm.toml";

fn ordo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A scratch file unique to this test process.
fn scratch(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-random-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn load(path: &str) -> Scenario {
    Scenario::load(Path::new(path)).unwrap_or_else(|e| panic!("{e}"))
}

fn run_with(scenario: Scenario, path: &str, seed: u64) -> RunResult {
    let strategy = StrategySet::parse(&scenario.strategy).unwrap();
    run(RunSpec {
        scenario,
        scenario_path: Path::new(path),
        strategy,
        seed,
        history_mode: HistoryMode::On,
        history_file: None,
        keep_history: true,
    })
    .unwrap()
}

fn json_run(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    all.push("--json");
    let output = ordo(&all);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

/// Every kind on, no swarm, scripted faults besides: a crash of c1 and a partition.
const EVERY_KIND: &str = r#"
expect = ["no_loss"]
[topology]
producers = 2
brokers = 3
consumers = 2
replication_factor = 3
[workload]
entities = 12
events_per_entity = 3
start_window_ms = 400
think_min_us = 50000
think_max_us = 200000
[producer]
request_timeout_ms = 200
[broker]
min_insync_replicas = 2
session_timeout_ms = 300
heartbeat_interval_ms = 50
[consumer]
request_timeout_ms = 200
session_timeout_ms = 1000
heartbeat_interval_ms = 200
[[link]]
from = "brokers"
to = "consumers"
both = true
latency_min_us = 2000
latency_max_us = 3000
[[fault]]
at_ms = 300
kind = "crash"
node = "c1"
[[fault]]
at_ms = 900
kind = "restart"
node = "c1"
[[fault]]
at_ms = 200
kind = "partition"
from = "p0"
to = "b0"
heal_at_ms = 500
[random_faults]
end_ms = 1500
crash_per_min = 300
crash_targets = ["brokers", "consumers"]
down_min_ms = 50
down_max_ms = 400
pause_per_min = 300
pause_max_ms = 300
partition_per_min = 300
partition_max_ms = 300
clock_step_per_min = 300
link_per_min = 300
link_max_ms = 300
[run]
max_time_ms = 60000
"#;

#[test]
fn same_seed_same_schedule_and_history_other_seed_other_schedule() {
    let scenario = load(SWARM);
    let first = draw(&scenario, 5).unwrap();
    assert_eq!(Some(&first), draw(&scenario, 5).as_ref());
    let others: Vec<_> = (6..10).map(|seed| draw(&scenario, seed).unwrap().faults).collect();
    assert!(others.iter().all(|faults| *faults != first.faults), "other seeds draw other schedules");
    let a = run_with(scenario.clone(), SWARM, 5);
    let b = run_with(scenario, SWARM, 5);
    assert_eq!(a.history.sha256, b.history.sha256);
    assert_eq!(a.random_faults.as_ref(), Some(&first), "the run used the schedule draw() shows");

    // The same through the CLI, with every kind on and scripted faults mixed in.
    let path = scratch("every-kind.toml", EVERY_KIND);
    let path = path.to_str().unwrap();
    let one = json_run(&[path, "--seed", "3"]);
    let again = json_run(&[path, "--seed", "3"]);
    let other = json_run(&[path, "--seed", "4"]);
    assert_eq!(one["history_sha256"], again["history_sha256"]);
    assert_eq!(one["random_faults"], again["random_faults"]);
    assert_ne!(one["random_faults"]["faults"], other["random_faults"]["faults"]);
    let kinds: BTreeSet<&str> =
        one["random_faults"]["faults"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for kind in ["crash", "restart", "pause", "partition", "heal", "clock_step", "link"] {
        assert!(kinds.contains(kind), "every kind is drawn at these rates: {kind} missing from {kinds:?}");
    }
}

#[test]
fn swarm_picks_several_mixes_and_disabled_kinds_never_appear() {
    let scenario = load(SWARM);
    let mut mixes = BTreeSet::new();
    for seed in 1..=30 {
        let drawn = draw(&scenario, seed).unwrap();
        assert!(drawn.swarm);
        let on: BTreeSet<RandomKind> = drawn.enabled.iter().copied().collect();
        assert_eq!(on.len() + drawn.disabled.len(), RandomKind::ALL.len(), "seed {seed}");
        for fault in &drawn.faults {
            let name = fault.kind.name();
            assert!(
                drawn.enabled.iter().any(|kind| kind.fault_names().contains(&name)),
                "seed {seed}: a {name} fault while only {:?} are on",
                drawn.enabled
            );
        }
        mixes.insert(on);
    }
    assert!(mixes.len() >= 2, "30 seeds gave one mix only: {mixes:?}");
}

#[test]
fn a_saved_schedule_keeps_set_overrides() {
    let saved = scratch("saved-with-set.toml", "");
    let saved = saved.to_str().unwrap();
    let set = ["--set", "consumer.max_poll_records=7", "--set", "network.loss_ppm=1000"];
    let random = json_run(&[&[SWARM, "--seed", "5", "--save-scenario", saved][..], &set[..]].concat());
    let text = std::fs::read_to_string(saved).unwrap();
    assert!(text.starts_with("# Swarm testing"), "the lesson stays on top:\n{text}");
    assert!(text.contains("--set consumer.max_poll_records=7 --set network.loss_ppm=1000"), "{text}");
    let copy = load(saved);
    assert_eq!(copy.consumer.max_poll_records, 7);
    assert!(load(SWARM).quiz.is_some() && copy.quiz.is_none(), "the lesson's quiz does not hold for the copy:\n{text}");
    let replay = json_run(&[saved]);
    assert_eq!(random["history_sha256"], replay["history_sha256"], "the copy replays the run with the overrides");
    let plain = json_run(&[SWARM, "--seed", "5"]);
    assert_ne!(plain["history_sha256"], random["history_sha256"], "the overrides changed the run");

    // Overrides of what the copy pins anyway (the drawn faults, the seed) are not folded in
    // again: the copy still replays the run.
    let saved = scratch("saved-with-set-2.toml", "");
    let saved = saved.to_str().unwrap();
    let set = ["--set", "random_faults.crash_per_min=10", "--set", "seed=6", "--set", "consumer.max_poll_records=9"];
    let random = json_run(&[&[SWARM, "--save-scenario", saved][..], &set[..]].concat());
    let text = std::fs::read_to_string(saved).unwrap();
    assert!(text.contains("with --set consumer.max_poll_records=9:"), "{text}");
    assert_eq!(load(saved).seed, 6);
    let replay = json_run(&[saved]);
    assert_eq!(random["history_sha256"], replay["history_sha256"], "{text}");
}

#[test]
fn a_saved_schedule_replays_the_run_byte_for_byte() {
    // No name or seed in the file: the copy must pin both (the name is in the history).
    let every = scratch("every-kind-replay.toml", EVERY_KIND);
    for (path, seed) in [(SWARM, 3), (SWARM, 27), (every.to_str().unwrap(), 8)] {
        let saved = scratch(&format!("saved-{seed}.toml"), "");
        let saved = saved.to_str().unwrap();
        let random = json_run(&[path, "--seed", &seed.to_string(), "--save-scenario", saved]);
        let text = std::fs::read_to_string(saved).unwrap();
        assert!(!text.contains("[random_faults]\n"), "the section is gone:\n{text}");
        let copy = load(saved);
        assert!(copy.random_faults.is_none());
        assert_eq!(copy.seed, seed, "the copy pins the seed");
        // With the same seed and strategy (as the copy pins them), the same history.
        let replay = json_run(&[saved]);
        assert_eq!(random["history_sha256"], replay["history_sha256"], "{path} seed {seed}:\n{text}");
        assert!(replay["random_faults"].is_null());
        assert_eq!(random["strategy"], replay["strategy"]);
    }
    // The copy still rejects unknown fields like any scenario.
    let saved = scratch("saved-3.toml", "");
    let mut text = std::fs::read_to_string(&saved).unwrap();
    text.push_str("\n[[fault]]\nat_ms = 1\nkind = \"crash\"\nnode = \"c0\"\nbogus = 1\n");
    std::fs::write(&saved, text).unwrap();
    let output = ordo(&["run", saved.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("bogus"), "{}", stderr(&output));
}

#[test]
fn the_text_summary_prints_the_schedule_after_the_seed() {
    let output = ordo(&["run", SWARM, "--seed", "27"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("seed 27"), "{text}");
    assert!(lines[1].starts_with("random faults (swarm): on "), "{text}");
    assert_eq!(lines[2].split_whitespace().nth(1), Some("ms"), "{text}");
    // --save-scenario needs something to save.
    let output = ordo(&["run", "scenarios/quickstart.toml", "--save-scenario", "/dev/null"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--save-scenario"), "{}", stderr(&output));
}

#[test]
fn bad_random_faults_are_errors_naming_the_field() {
    let cases = [
        ("crash_per_min = 70000", "random_faults.crash_per_min", "expected a value from 0 to 60000"),
        ("end_ms = 3600000\ncrash_per_min = 60000", "random_faults.crash_per_min", "at most 10000"),
        ("crash_targets = []", "random_faults.crash_targets", "at least one node kind"),
        ("pause_targets = [\"ctl\"]", "random_faults.pause_targets", "never a target"),
        ("link_targets = [\"routers\"]", "random_faults.link_targets", "\"routers\""),
        ("down_min_ms = 500\ndown_max_ms = 100", "random_faults.down_max_ms", "at least down_min_ms"),
        ("pause_min_ms = 0", "random_faults.pause_min_ms", "expected a value from 1"),
        ("start_ms = 500\nend_ms = 500", "random_faults.end_ms", "more than start_ms"),
        ("link_loss_max_ppm = 2000000", "random_faults.link_loss_max_ppm", "expected a value"),
        ("link_loss_min_ppm = 5000\nlink_loss_max_ppm = 10", "random_faults.link_loss_max_ppm", "at least"),
        ("link_delay_min_us = 50\nlink_delay_max_us = 10", "random_faults.link_delay_max_us", "at least"),
        ("clock_step_max_ms = 90000000", "random_faults.clock_step_max_ms", "expected a value"),
        ("partition_per_min = 10\npartition_targets = [\"producers\"]", "random_faults.partition_targets", "two sides"),
        ("link_per_min = 10\nlink_targets = [\"producers\"]", "random_faults.link_targets", "producer to producer"),
    ];
    for (body, field, needle) in cases {
        let text = format!("[topology]\nproducers = 2\n[random_faults]\n{body}\n");
        let error = Scenario::parse(&text, "t.toml", "t").unwrap_err().to_string();
        assert!(error.contains(&format!("field `{field}`")), "{body:?} gave {error}");
        assert!(error.contains(needle), "{body:?} gave {error}");
    }
    let error = Scenario::parse("[random_faults]\ncrash_rate = 3\n", "t.toml", "t").unwrap_err().to_string();
    assert!(error.contains("line 2") && error.contains("crash_rate") && error.contains("crash_per_min"), "{error}");
    // Through the CLI: exit 2, the file and the field named.
    let path = scratch("bad.toml", "[random_faults]\ncrash_targets = [\"ctl\"]\n");
    let output = ordo(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("bad.toml") && message.contains("random_faults.crash_targets"), "{message}");
}

#[test]
fn the_model_survives_fifty_swarm_seeds_and_the_checker_reads_every_history() {
    let scenario = load(SWARM);
    for seed in 1..=50 {
        let result = run_with(scenario.clone(), SWARM, seed);
        let jsonl = result.history.jsonl.as_deref().expect("kept in memory");
        if let Err(error) = ordo::checker::check_reader(jsonl, "history", None) {
            panic!("seed {seed}: the checker rejects the history (an ordo bug): {error}");
        }
        assert!(result.outcome.end_ns <= scenario.run.max_time_ms * 1_000_000, "seed {seed}");
    }
}

/// A scenario with a random topology, rates and (sometimes) scripted faults.
fn scenario_text(p: &Params) -> String {
    let kinds = ["producers", "brokers", "consumers"];
    let targets = |mask: u8| -> String {
        let chosen: Vec<String> =
            kinds.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| format!("{k:?}")).collect();
        format!("[{}]", chosen.join(", "))
    };
    let mut text =
        format!("[topology]\nproducers = {}\nbrokers = {}\nconsumers = {}\n", p.producers, p.brokers, p.consumers);
    if p.scripted {
        text.push_str(
            "[[fault]]\nat_ms = 100\nkind = \"crash\"\nnode = \"c0\"\n\
             [[fault]]\nat_ms = 400\nkind = \"restart\"\nnode = \"c0\"\n\
             [[fault]]\nat_ms = 50\nkind = \"pause\"\nnode = \"b0\"\nduration_ms = 500\n\
             [[fault]]\nat_ms = 200\nkind = \"partition\"\nfrom = \"brokers\"\nto = \"c0\"\nheal_at_ms = 700\n\
             [[fault]]\nat_ms = 300\nkind = \"link\"\nfrom = \"p0\"\nto = \"b0\"\nboth = true\nloss_ppm = 1000\n",
        );
    }
    text.push_str(&format!(
        "[random_faults]\nstart_ms = {}\nend_ms = {}\nswarm = {}\n\
         crash_per_min = {}\ncrash_targets = {}\ndown_min_ms = {}\ndown_max_ms = {}\n\
         pause_per_min = {}\npause_targets = {}\npause_min_ms = 1\npause_max_ms = {}\n\
         partition_per_min = {}\npartition_targets = [\"brokers\", \"consumers\"]\npartition_max_ms = {}\n\
         clock_step_per_min = {}\nclock_step_targets = {}\n\
         link_per_min = {}\nlink_targets = [\"producers\", \"brokers\"]\nlink_max_ms = {}\n",
        p.start_ms,
        p.start_ms + p.window_ms,
        p.swarm,
        p.rates[0],
        targets(p.masks[0]),
        p.down_ms.0,
        p.down_ms.0 + p.down_ms.1,
        p.rates[1],
        targets(p.masks[1]),
        p.lengths_ms[0],
        p.rates[2],
        p.lengths_ms[1],
        p.rates[3],
        targets(p.masks[2]),
        p.rates[4],
        p.lengths_ms[2],
    ));
    text
}

#[derive(Debug, Clone)]
struct Params {
    producers: u32,
    brokers: u32,
    consumers: u32,
    scripted: bool,
    start_ms: u64,
    window_ms: u64,
    swarm: bool,
    rates: [u32; 5],
    masks: [u8; 3],
    down_ms: (u64, u64),
    lengths_ms: [u64; 3],
    seed: u64,
}

fn params() -> impl Strategy<Value = Params> {
    (
        (1u32..=3, 1u32..=4, 1u32..=3, any::<bool>()),
        (0u64..500, 1u64..5_000, any::<bool>()),
        prop::array::uniform5(0u32..=3_000),
        prop::array::uniform3(1u8..8),
        ((1u64..300), (0u64..2_000)),
        prop::array::uniform3(100u64..2_000),
        any::<u64>(),
    )
        .prop_map(
            |(
                (producers, brokers, consumers, scripted),
                (start_ms, window_ms, swarm),
                rates,
                masks,
                down_ms,
                lengths_ms,
                seed,
            )| {
                Params {
                    producers,
                    brokers,
                    consumers,
                    scripted,
                    start_ms,
                    window_ms,
                    swarm,
                    rates,
                    masks,
                    down_ms,
                    lengths_ms,
                    seed,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Drawn schedules, merged with the scripted faults, pass the `[[fault]]` validator's
    /// sequence rules, for any rates, targets, topology and seed.
    #[test]
    fn drawn_schedules_pass_the_sequence_rules(p in params()) {
        let text = scenario_text(&p);
        let scenario = Scenario::parse(&text, "prop.toml", "prop").map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let drawn = draw(&scenario, p.seed).unwrap();
        let merged = merge(&scenario.faults, &drawn.faults);
        prop_assert!(check_fault_sequence(&merged, &scenario.topology).is_ok(),
            "{:?}\n{text}", check_fault_sequence(&merged, &scenario.topology));
        prop_assert!(drawn.faults.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        for fault in &drawn.faults {
            let text = format!("{fault:?}");
            prop_assert!(!text.contains("\"ctl\""), "the controller is never a target: {text}");
            prop_assert!(fault.at_ms >= p.start_ms);
        }
    }
}
