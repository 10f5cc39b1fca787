//! Key lanes (`consumer.key_lanes`, `consumer.lane_commit`; issue 16 §2): what they buy
//! (throughput over one lane, in the closed loop), what a crash replays with prefix
//! commits, and what the naive commit of the highest processed offset loses. Runs the
//! bundled lessons `key-lanes-prefix-commit` and `key-lanes-naive-commit` through the
//! `ordo` binary.

use std::process::Command;

use serde_json::Value;

fn ordo(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("the ordo binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ordo run SCENARIO --seed SEED --json` with `--set` overrides.
fn run(scenario: &str, seed: u64, sets: &[&str]) -> Value {
    let seed = seed.to_string();
    let mut args = vec!["run", scenario, "--seed", &seed, "--json"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let (code, stdout, stderr) = ordo(&args);
    assert_eq!(code, 0, "ordo {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).expect("run --json prints one object")
}

/// How often the checker found `kind`, whether the scenario expects it (`violations`) or
/// allows it (`allowed`).
fn violations(v: &Value, kind: &str) -> u64 {
    v["violations"][kind].as_u64().unwrap_or(0) + v["allowed"][kind].as_u64().unwrap_or(0)
}

fn counter(v: &Value, name: &str) -> u64 {
    v["workload"][name].as_u64().unwrap_or_else(|| panic!("workload.{name} in run --json"))
}

const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// Prefix commits: on every seed the crash replays (duplicates, held-back records), and no
/// commit passes an unprocessed record, so no event is lost.
#[test]
fn prefix_commit_replays_and_loses_nothing() {
    let mut replayed = 0;
    for seed in SEEDS {
        let v = run("key-lanes-prefix-commit", seed, &[]);
        assert_eq!(violations(&v, "commit_ahead"), 0, "seed {seed}: a prefix commit passed an unprocessed record");
        assert_eq!(counter(&v, "never_applied"), 0, "seed {seed}: an event was lost");
        assert_eq!(counter(&v, "lane_commit_skipped"), 0, "seed {seed}");
        assert!(counter(&v, "lane_commits") > 0, "seed {seed}: the lanes committed mid-poll");
        assert!(counter(&v, "lane_commit_held_back") > 0, "seed {seed}: lanes finished above the prefix");
        assert_eq!(violations(&v, "per_key_reorder"), 0, "seed {seed}: one key stays in one lane, in order");
        if violations(&v, "duplicate_apply") > 0 {
            replayed += 1;
        }
    }
    assert!(replayed >= 15, "the crash replays on most seeds: {replayed} of 20");
}

/// The naive commit of the highest processed offset: the checker flags a commit past an
/// unprocessed record on every seed, and where the crash falls in such a window events are
/// never applied.
#[test]
fn naive_commit_is_caught_and_loses_events() {
    let mut lost_seeds = 0;
    for seed in SEEDS {
        let v = run("key-lanes-naive-commit", seed, &[]);
        assert!(violations(&v, "commit_ahead") > 0, "seed {seed}: no commit_ahead");
        assert!(counter(&v, "lane_commit_skipped") > 0, "seed {seed}");
        assert_eq!(v["verdict"], "violated", "seed {seed}");
        if counter(&v, "never_applied") > 0 {
            lost_seeds += 1;
        }
    }
    assert!(lost_seeds >= 5, "the crash loses events on some seeds: {lost_seeds} of 20");
    // The same schedule with prefix commits: nothing lost (seed 18: 19 never applied).
    let naive = run("key-lanes-naive-commit", 18, &[]);
    let fixed = run("key-lanes-naive-commit", 18, &["consumer.lane_commit=\"prefix\""]);
    assert_eq!(counter(&naive, "never_applied"), 19);
    assert_eq!(counter(&fixed, "never_applied"), 0);
    assert_eq!(violations(&fixed, "commit_ahead"), 0);
}

/// Without a crash, key lanes keep each key in order and apply everything once, whatever
/// the commit (a commit ahead is still a commit ahead: the checker flags the naive one).
#[test]
fn without_a_crash_keys_stay_in_order() {
    for seed in 1..=5 {
        for mode in ["prefix", "highest"] {
            let set = format!("consumer.lane_commit=\"{mode}\"");
            let v = run("key-lanes-prefix-commit", seed, &[&set, "fault=[]"]);
            assert_eq!(violations(&v, "per_key_reorder"), 0, "seed {seed} {mode}");
            assert_eq!(violations(&v, "duplicate_apply"), 0, "seed {seed} {mode}");
            assert_eq!(counter(&v, "never_applied"), 0, "seed {seed} {mode}");
            assert_eq!(counter(&v, "applies"), 200, "seed {seed} {mode}");
        }
    }
}

/// What the lanes buy: in the closed loop without the crash, four lanes apply at least 1.6
/// times as many events a second as one lane (over seeds 1..50 the medians are 816 and 301
/// per second; with the lesson's crash about twice).
#[test]
fn four_lanes_outrun_one_in_the_closed_loop() {
    let (mut one, mut four) = (0, 0);
    for seed in 1..=5 {
        let base = ["workload.mode=\"closed\"", "fault=[]"];
        let a = run("key-lanes-prefix-commit", seed, &[base[0], base[1], "consumer.key_lanes=1"]);
        let b = run("key-lanes-prefix-commit", seed, &[base[0], base[1], "consumer.key_lanes=4"]);
        assert_eq!(violations(&a, "per_key_reorder") + violations(&b, "per_key_reorder"), 0);
        one += counter(&a, "throughput_per_sec");
        four += counter(&b, "throughput_per_sec");
    }
    assert!(four * 10 >= one * 16, "four lanes {four} vs one lane {one} (sums over 5 seeds)");
}

/// Bad combinations are refused with exit 2 and a message naming the field.
#[test]
fn bad_lane_settings_name_the_field() {
    let cases: [(&[&str], &str); 4] = [
        (&["consumer.commit=\"auto\""], "consumer.key_lanes"),
        (&["consumer.key_lanes=65"], "consumer.key_lanes"),
        (&["consumer.key_lanes=0"], "consumer.lane_commit"),
        (&["consumer.parallel_partitions=true"], "consumer.key_lanes"),
    ];
    for (sets, field) in cases {
        let mut args = vec!["run", "key-lanes-prefix-commit"];
        for set in sets {
            args.extend(["--set", set]);
        }
        let (code, _, stderr) = ordo(&args);
        assert_eq!(code, 2, "{sets:?}: {stderr}");
        assert!(stderr.contains(field), "{sets:?}: the error names {field}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
