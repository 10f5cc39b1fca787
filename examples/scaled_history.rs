//! Writes a history of about N records for the checker benchmarks: the standard scenario
//! (`benches/standard.toml`, 104,748 records) with its entities and start window scaled by
//! the same factor (see `benches/support/scaled.rs`). Deterministic: the same N gives the
//! same file.
//!
//! `cargo run --release --example scaled_history -- RECORDS FILE`
//! (RECORDS like `100000`, `1e6` or `1e7`). Prints one JSON line: records, events, bytes.

#[path = "../benches/support/scaled.rs"]
mod scaled;

use std::path::Path;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(records), Some(file)) = (args.first().and_then(|s| scaled::parse_count(s)), args.get(1)) else {
        eprintln!("usage: scaled_history RECORDS FILE   (RECORDS: 100000, 1e6, 1e7, ...)");
        std::process::exit(2);
    };
    let result = scaled::scaled_run(records, Some(Path::new(file)));
    println!(
        "{{\"records\":{},\"engine_events\":{},\"bytes\":{}}}",
        result.history.records, result.outcome.stats.events, result.history.bytes
    );
}
