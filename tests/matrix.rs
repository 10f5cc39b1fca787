//! `ordo matrix`: every scenario × strategy, written deterministically (byte for byte,
//! whatever the thread count), one row per scenario and one column per strategy.

use std::process::Command;

fn matrix(out: &std::path::Path, threads: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["matrix", "--seeds", "2", "--threads", threads, "--out", out.to_str().unwrap()])
        .arg("--html")
        .arg(out.join("matrix.html"))
        .output()
        .expect("ordo runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn the_report_is_the_same_for_any_thread_count_and_covers_every_cell() {
    let dir = std::env::temp_dir().join(format!("ordo-matrix-test-{}", std::process::id()));
    let (one, two) = (dir.join("one"), dir.join("two"));
    matrix(&one, "1");
    matrix(&two, "2");
    for file in
        ["matrix.md", "matrix.json", "heatmap.svg", "latency_vs_violations.svg", "throughput.svg", "matrix.html"]
    {
        let a = std::fs::read(one.join(file)).unwrap();
        let b = std::fs::read(two.join(file)).unwrap();
        assert!(a == b, "{file} differs between 1 and 2 threads");
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(one.join("matrix.json")).unwrap()).unwrap();
    let scenarios = json["scenarios"].as_array().unwrap().len();
    let strategies = json["strategies"].as_array().unwrap().len();
    assert_eq!(json["cells"].as_array().unwrap().len(), scenarios * strategies);
    assert_eq!(strategies, ordo::strategy::all().len());
    let bundled = std::fs::read_dir("scenarios")
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "toml"))
        .count();
    assert_eq!(scenarios, bundled);
    let markdown = std::fs::read_to_string(one.join("matrix.md")).unwrap();
    for name in ordo::strategy::all().iter().map(|s| s.name()) {
        assert!(markdown.contains(&format!(" {name} |")), "column {name}");
    }
    assert!(markdown.contains("| quickstart |"));
    // Every cell has a mark and its costs, each a distribution over seeds.
    for cell in json["cells"].as_array().unwrap() {
        let mark = cell["mark"].as_str().unwrap();
        assert!(mark == "expected" || mark == "surprise", "{cell}");
        assert_eq!(mark == "expected", cell["unexplained_kinds"].as_array().unwrap().is_empty(), "{cell}");
        for cost in [
            "latency_p99_to_end_ns",
            "never_applied",
            "dead_lettered",
            "conflicts",
            "unfetched_max_ns",
            "closed_loop_throughput_per_sec",
        ] {
            let c = &cell["costs"][cost];
            let (p50, p90, max) = (c["p50"].as_u64().unwrap(), c["p90"].as_u64().unwrap(), c["max"].as_u64().unwrap());
            assert!(p50 <= p90 && p90 <= max, "{cost}: {c}");
        }
        assert_eq!(cell["failing_seed_list"].as_array().unwrap().len() as u64, cell["failing_seeds"].as_u64().unwrap());
    }
    // Rows come grouped by family: a family's rows are contiguous.
    let families: Vec<&str> =
        json["scenarios"].as_array().unwrap().iter().map(|s| s["family"].as_str().unwrap()).collect();
    let mut seen: Vec<&str> = Vec::new();
    for family in families {
        if seen.last() != Some(&family) {
            assert!(!seen.contains(&family), "family {family} split");
            seen.push(family);
        }
    }
    assert!(markdown.contains("### producer retries and idempotence"), "family headings");
    assert!(markdown.contains("| queue-competing-consumers |"), "queue scenarios are rows too");
}
