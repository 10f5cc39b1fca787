//! `ordo matrix`: every scenario × strategy, written deterministically (byte for byte,
//! whatever the thread count), one row per scenario and one column per strategy.

use std::process::Command;

fn matrix(out: &std::path::Path, threads: &str) {
    let output = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["matrix", "--seeds", "2", "--threads", threads, "--out", out.to_str().unwrap()])
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
    for file in ["matrix.md", "matrix.json", "heatmap.svg", "latency_vs_violations.svg", "throughput.svg"] {
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
    assert!(markdown.contains("| queue-competing-consumers |"), "queue scenarios are rows too");
}
