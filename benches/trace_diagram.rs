//! `ordo trace` and `ordo diagram` on big histories: the standard scenario scaled to about
//! 10^5 and 10^6 records (`benches/support/scaled.rs`) with strategy `key` (idempotence
//! off, so retries reorder and duplicate: anomalies to trace and list), written to a file once, then each
//! step timed as the CLI does it: load (the checker's pass, then the reader's), the
//! story of violation 1, of one node, the SVG of violation 1, the HTML of the whole
//! history. With Chromium and node present (as for tests/diagram.rs), the 10^5 page is
//! also opened in headless Chromium and the time until it is drawn is printed.
//!
//! `cargo bench --bench trace_diagram` (figures in docs/benchmarks.md). Wall times of one
//! run of each step, not a statistical benchmark: the steps take seconds.

#![allow(clippy::disallowed_methods)] // timing is the point of a bench

#[path = "support/scaled.rs"]
mod scaled;

use std::time::Instant;

use ordo::diagram::{self, Format};
use ordo::trace::{self, Selection};

fn time<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("  {what:<44} {:>8.2} s", start.elapsed().as_secs_f64());
    out
}

fn main() {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let dir = std::path::Path::new(&target).join("bench-trace");
    std::fs::create_dir_all(&dir).unwrap();
    let sizes: Vec<u64> = match std::env::var("ORDO_BENCH_SIZES") {
        Ok(list) => list.split(',').filter_map(scaled::parse_count).collect(),
        Err(_) => vec![100_000, 1_000_000],
    };
    for size in sizes {
        let file = dir.join(format!("history-{size}.jsonl"));
        let result = scaled::scaled_run_strategy(size, Some(&file), "key");
        eprintln!("scaled standard ~{size}: {} records, {}", result.history.records, file.display());
        drop(result);
        let loaded = time("load (check + read)", || trace::load(&file).unwrap());
        eprintln!("  ({} anomalies)", loaded.report.violations.len());
        if !loaded.report.violations.is_empty() {
            let out = time("trace --violation 1 (select + render)", || {
                let story = loaded.select(&Selection::Violation(1)).unwrap();
                trace::render(&loaded.history, &story)
            });
            eprintln!("  ({} lines)", out.lines().count());
            let svg = time("diagram --violation 1 -o x.svg", || {
                let layout = diagram::layout(&loaded, &Selection::Violation(1)).unwrap();
                diagram::render(&layout, &loaded.history, Format::Svg)
            });
            std::fs::write(dir.join(format!("v1-{size}.svg")), svg).unwrap();
        }
        let busiest = loaded.history.recs.iter().rev().find_map(|r| r.node).map(|n| loaded.history.s(n).to_string());
        let busiest = busiest.unwrap_or_default();
        let out = time(&format!("trace --node {busiest} (select + render)"), || {
            let story = loaded.select(&Selection::Node(busiest.clone())).unwrap();
            trace::render(&loaded.history, &story)
        });
        eprintln!("  ({} lines)", out.lines().count());
        let html = time("diagram -o x.html (whole history)", || {
            let layout = diagram::layout(&loaded, &Selection::All).unwrap();
            diagram::render(&layout, &loaded.history, Format::Html)
        });
        let page = dir.join(format!("whole-{size}.html"));
        std::fs::write(&page, &html).unwrap();
        eprintln!("  ({} MB of HTML)", html.len() / 1_000_000);
        let chromium = std::path::Path::new("/usr/bin/chromium");
        if size <= 100_000 && chromium.exists() {
            let driver = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/drive.js");
            let shot = dir.join(format!("whole-{size}.png"));
            match std::process::Command::new("node").arg(driver).arg(&page).arg(&shot).arg("1").output() {
                Ok(out) => eprintln!(
                    "  headless Chromium: {}",
                    String::from_utf8_lossy(&out.stdout).chars().take(400).collect::<String>()
                ),
                Err(e) => eprintln!("  headless Chromium not run: {e}"),
            }
        }
    }
}
