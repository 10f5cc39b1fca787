//! `ordo explore`: the grid, its determinism at any thread count, and bad `--vary` input.

use std::process::{Command, Output};

fn explore(args: &[&str], threads: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ordo"))
        .arg("explore")
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("ordo runs")
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ordo-explore-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

const GRID: [&str; 8] = [
    "reorder-buffer-lost-event",
    "--vary",
    "consumer.reorder_timeout_ms=50,200,800",
    "--vary",
    "workload.entities=6,12",
    "--strategy",
    "key+reorder-buffer,versioned",
    "--seeds",
];

#[test]
fn the_grid_has_every_combination_in_order() {
    let mut args = GRID.to_vec();
    args.extend(["3", "--json"]);
    let output = explore(&args, "2");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = json["points"].as_array().unwrap();
    assert_eq!(points.len(), 2 * 3 * 2, "strategies × timeouts × entity counts");
    // Strategies outermost, the last --vary fastest.
    assert_eq!(points[0]["strategy"], "key+reorder-buffer");
    assert_eq!(points[0]["overrides"], serde_json::json!(["consumer.reorder_timeout_ms=50", "workload.entities=6"]));
    assert_eq!(points[1]["overrides"], serde_json::json!(["consumer.reorder_timeout_ms=50", "workload.entities=12"]));
    assert_eq!(points[6]["strategy"], "versioned");
    for point in points {
        let sweep = &point["sweep"];
        assert_eq!(sweep["seeds"]["count"], 3);
        // Each point really ran its values: the scenario's reproduce commands carry them.
        for failing in sweep["failing"].as_array().unwrap() {
            let command = failing["reproduce"].as_str().unwrap();
            for assignment in point["overrides"].as_array().unwrap() {
                assert!(command.contains(assignment.as_str().unwrap()), "{command}");
            }
        }
        let (low, high) = (
            point["violation_rate_ci95"]["low"].as_f64().unwrap(),
            point["violation_rate_ci95"]["high"].as_f64().unwrap(),
        );
        let rate = point["violation_rate"].as_f64().unwrap();
        assert!(low <= rate && rate <= high, "{point}");
    }
    assert!(points.iter().any(|p| p["pareto_front"] == true), "some point is on the front");
    // The timeout is the latency's floor: a longer one never gives a lower median p99.
    let p99 = |i: usize| points[i]["sweep"]["metrics"]["latency_p99_ns"]["p50"].as_u64().unwrap();
    assert!(p99(0) <= p99(2) && p99(2) <= p99(4), "{} {} {}", p99(0), p99(2), p99(4));
}

#[test]
fn the_output_is_the_same_at_any_thread_count() {
    let (chart_one, chart_two) = (scratch("one.svg"), scratch("two.svg"));
    let run = |threads: &str, chart: &std::path::Path| {
        let mut args = GRID.to_vec();
        args.extend(["4", "--chart", chart.to_str().unwrap()]);
        let text = explore(&args, threads);
        let mut args = GRID.to_vec();
        args.extend(["4", "--json"]);
        let json = explore(&args, threads);
        assert!(text.status.success() && json.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
        (text.stdout, json.stdout, std::fs::read(chart).unwrap())
    };
    let one = run("1", &chart_one);
    let two = run("2", &chart_two);
    assert!(one.0 == two.0, "the table differs between 1 and 2 threads");
    assert!(one.1 == two.1, "the JSON differs between 1 and 2 threads");
    assert!(one.2 == two.2, "the chart differs between 1 and 2 threads");
    // The chart labels every point (the varied values; the strategy as there are two).
    let svg = String::from_utf8(one.2).unwrap();
    for label in ["key+reorder-buffer · 50 · 6", "versioned · 800 · 12"] {
        assert!(svg.contains(label), "no label {label}");
    }
    assert!(svg.contains("Pareto front"), "the front is explained");
}

#[test]
fn bad_vary_exits_2_naming_the_field() {
    for (vary, named) in [
        ("consumer.reorder_timeout_ms=50,abc", "consumer.reorder_timeout_ms"),
        ("consumer.no_such_field=1,2", "no_such_field"),
        ("producer.max_in_flight=1,0", "producer.max_in_flight"),
        ("consumer.reorder_timeout_ms", "--vary"),
        ("consumer.reorder_timeout_ms=50,,100", "consumer.reorder_timeout_ms"),
    ] {
        let output = explore(&["quickstart", "--vary", vary, "--seeds", "2"], "1");
        assert_eq!(output.status.code(), Some(2), "{vary}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(named) && stderr.contains("--vary"), "{vary}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Varying one field twice, or an unknown chart figure, is refused too.
    let output =
        explore(&["quickstart", "--vary", "workload.entities=2", "--vary", "workload.entities=3", "--seeds", "2"], "1");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("workload.entities"));
    let output = explore(&["quickstart", "--vary", "workload.entities=2", "--y", "speed", "--seeds", "2"], "1");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--y"));
}

/// Every field `--json` prints (above each point's sweep, documented as `ordo sweep
/// --json`'s) is listed in docs/json.md's section, and every one listed is printed.
#[test]
fn the_json_is_documented() {
    let output = explore(&["quickstart", "--vary", "workload.entities=2,3", "--seeds", "2", "--json"], "1");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    fn walk(value: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) if prefix != "points[].sweep" && prefix != "points[].values" => {
                for (key, child) in map {
                    let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                    walk(child, &path, out);
                }
            }
            serde_json::Value::Array(items) if items.first().is_some_and(|i| i.is_object()) => {
                walk(&items[0], &format!("{prefix}[]"), out)
            }
            _ => {
                out.insert(if prefix == "points[].values" { "points[].values.FIELD".into() } else { prefix.into() });
            }
        }
    }
    let mut printed = std::collections::BTreeSet::new();
    walk(&json, "", &mut printed);
    let doc = std::fs::read_to_string("docs/json.md").unwrap();
    let section = &doc[doc.find("## `ordo explore --json`").unwrap()..];
    let section = &section[3..section[3..].find("\n## ").unwrap()];
    let documented: std::collections::BTreeSet<String> =
        section.lines().filter_map(|l| l.strip_prefix("| `")?.split('`').next().map(String::from)).collect();
    assert_eq!(printed, documented, "ordo explore --json against docs/json.md");
}

/// The README's trade-off chart is what its command makes (regenerate it with that command
/// when the model or the chart changes).
#[test]
fn the_committed_chart_is_current() {
    let chart = scratch("max-in-flight.svg");
    let args = [
        "quickstart",
        "--vary",
        "producer.max_in_flight=1,2,3,4,5",
        "--strategy",
        "key,idempotent",
        "--set",
        "workload.mode=closed",
        "--set",
        "workload.entities=100",
        "--seeds",
        "10",
        "--x",
        "throughput_per_sec",
        "--y",
        "out_of_order_appends",
        "--chart",
        chart.to_str().unwrap(),
    ];
    let output = explore(&args, "2");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let made = std::fs::read_to_string(&chart).unwrap();
    let committed = std::fs::read_to_string("docs/explore-max-in-flight.svg").unwrap();
    assert!(
        made == committed,
        "docs/explore-max-in-flight.svg is stale: regenerate it with `ordo explore {} docs/explore-max-in-flight.svg`",
        args[..args.len() - 1].join(" ")
    );
}
