//! The costs the matrix and `ordo explore` report: the closed-loop workload mode, and the
//! latency that counts events never applied.

use std::process::Command;

fn run_json(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_ordo")).args(args).output().expect("ordo runs");
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON")
}

fn throughput(strategy: &str, seed: &str) -> u64 {
    let json = run_json(&[
        "run",
        "quickstart",
        "--strategy",
        strategy,
        "--seed",
        seed,
        "--set",
        "workload.mode=\"closed\"",
        "--set",
        "workload.outstanding=20",
        "--json",
    ]);
    json["workload"]["throughput_per_sec"].as_u64().expect("throughput")
}

#[test]
fn a_closed_loop_shows_the_price_of_one_request_in_flight() {
    for seed in ["1", "2", "3"] {
        let (many, one) = (throughput("key", seed), throughput("single-inflight", seed));
        assert!(one < many, "seed {seed}: single-inflight {one}/s should be below key's {many}/s in a closed loop");
    }
    // Deterministic like every run.
    assert_eq!(throughput("key", "1"), throughput("key", "1"));
}

#[test]
fn a_closed_loop_needs_closed_mode_and_a_bounded_outstanding() {
    for (set, field) in
        [("workload.outstanding=3", "workload.outstanding"), ("workload.mode=\"saturate\"", "workload.mode")]
    {
        let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(["run", "quickstart", "--set", set])
            .output()
            .expect("ordo runs");
        assert_eq!(output.status.code(), Some(2), "{set}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(field), "{set}: {stderr}");
    }
}

#[test]
fn events_never_applied_count_until_the_end_of_the_run() {
    // vector-clock holds events on reorder-buffer-lost-event (a lost cause never comes):
    // their latency to the end of the run is above every applied event's latency.
    let json = run_json(&["run", "reorder-buffer-lost-event", "--strategy", "vector-clock", "--seed", "1", "--json"]);
    let w = &json["workload"];
    let never = w["never_applied"].as_u64().unwrap();
    assert!(never > 0, "{w}");
    assert!(w["held_at_end"].as_u64().unwrap() <= never, "held events are never applied");
    let (p99, to_end) = (w["latency_p99_ns"].as_u64().unwrap(), w["latency_p99_to_end_ns"].as_u64().unwrap());
    assert!(to_end > p99, "p99 to end {to_end} should exceed the applied-only p99 {p99}");
    // A clean run applies everything: both figures agree.
    let json = run_json(&["run", "quickstart", "--strategy", "idempotent", "--seed", "1", "--json"]);
    let w = &json["workload"];
    assert_eq!(w["never_applied"], 0);
    assert_eq!(w["latency_p99_to_end_ns"], w["latency_p99_ns"]);
}

#[test]
fn every_bundled_scenario_runs_its_course_in_a_closed_loop() {
    // The matrix reruns every cell in a closed loop: each scenario must still finish (or
    // reach its own time limit), never livelock, and apply what it created.
    let scenarios: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(String::from))
        .collect();
    assert!(scenarios.len() > 30);
    for scenario in scenarios {
        let json = run_json(&[
            "sweep",
            &scenario,
            "--seeds",
            "2",
            "--threads",
            "2",
            "--set",
            "workload.mode=closed",
            "--json",
        ]);
        let reasons = json["stop_reasons"].as_object().unwrap();
        assert!(!reasons.contains_key("livelock") && !reasons.contains_key("event_limit"), "{scenario}: {reasons:?}");
        assert!(json["metrics"]["applies"]["min"].as_u64().unwrap() > 0, "{scenario}: nothing applied");
    }
}
