//! `ordo matrix --html`: one self-contained page, checked in a real headless Chromium (as
//! tests/diagram.rs checks the diagrams): no console error, no network request beyond the
//! page itself, the table has a row per cell, and clicking a header sorts by that column.

use std::path::{Path, PathBuf};
use std::process::Command;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A matrix over two bundled scenarios and two seeds: small enough for a test.
fn page(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-matrix-html-{name}-{}", std::process::id()));
    let scenarios = dir.join("scenarios");
    std::fs::create_dir_all(&scenarios).unwrap();
    for name in ["quickstart", "zombie-consumer"] {
        std::fs::copy(format!("scenarios/{name}.toml"), scenarios.join(format!("{name}.toml"))).unwrap();
    }
    let html = dir.join("matrix.html");
    let out = Command::new(env!("CARGO_BIN_EXE_ordo"))
        .args(["matrix", "--seeds", "2", "--scenarios"])
        .arg(&scenarios)
        .arg("--html")
        .arg(&html)
        .output()
        .expect("ordo runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    html
}

#[test]
fn the_page_is_self_contained_and_lists_every_cell() {
    let html = std::fs::read_to_string(page("contained")).unwrap();
    for outside in ["http://", "https://", "<link", "src="] {
        assert!(!html.contains(outside), "the page refers to something outside it: {outside}");
    }
    let cells = 2 * ordo::strategy::all().len();
    assert_eq!(html.matches("<tr class=").count(), cells, "one row per cell");
    assert!(html.contains("ordo run ") && html.contains("--diagram "), "reproduce and diagram commands");
    for column in [
        "latency_p99_to_end_ms",
        "never_applied",
        "dead_lettered",
        "conflicts",
        "unfetched_max_ms",
        "closed_loop_throughput_per_sec",
    ] {
        assert!(html.contains(&format!("<th>{column}</th>")), "column {column}");
    }
}

/// The page in a real headless Chromium (Debian's package), driven over the DevTools
/// protocol by tests/browser/matrix.js. `.ci/run` installs both and sets
/// ORDO_BROWSER_TESTS=required, so CI fails rather than skips when they are missing.
#[test]
fn the_table_sorts_in_headless_chromium() {
    let required = std::env::var("ORDO_BROWSER_TESTS").is_ok_and(|v| v == "required");
    let chromium = std::env::var("ORDO_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !Path::new(&chromium).exists() || !node_ok {
        let why = format!("the browser test needs {chromium} and node (apt-get install chromium nodejs)");
        assert!(!required, "ORDO_BROWSER_TESTS=required but {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let page = page("browser");
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from("target"));
    std::fs::create_dir_all(&target).unwrap();
    let shot = target.join("browser-matrix.png");
    let driver = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/matrix.js");
    let out = Command::new("node").arg(&driver).arg(&page).arg(&shot).arg(&chromium).output().expect("node runs");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "the driver failed: {stdout}\n{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(result["errors"], serde_json::json!([]), "console errors: {stdout}");
    let requests: Vec<&str> = result["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    assert!(requests.iter().all(|r| r.starts_with("file://")), "network requests: {requests:?}");
    assert_eq!(result["rows"], serde_json::json!(2 * ordo::strategy::all().len()));
    let numbers =
        |key: &str| -> Vec<u64> { result[key].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect() };
    let (before, ascending, descending) = (numbers("before"), numbers("ascending"), numbers("descending"));
    let mut sorted = before.clone();
    sorted.sort_unstable();
    assert_ne!(before, sorted, "the page starts in row order, not by rate (else the click proves nothing)");
    assert_eq!(ascending, sorted, "one click sorts by the column, ascending");
    sorted.reverse();
    assert_eq!(descending, sorted, "a second click reverses it");
    assert!(result["asc_class"].as_str().unwrap().contains("asc"));
    let scenarios: Vec<&str> = result["scenarios"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let mut by_name = scenarios.clone();
    by_name.sort_unstable();
    assert_eq!(scenarios, by_name, "text columns sort too");
    assert!(result["commands"].as_array().unwrap().iter().all(|c| c.as_str().unwrap().starts_with("ordo run ")));
    assert!(!result["diagrams"].as_array().unwrap().is_empty(), "a diagram command per failing cell");
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot at {}", shot.display());
}
