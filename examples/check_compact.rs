//! Checks the scaled standard history (see `benches/support/scaled.rs`) kept as a compact
//! history, ROUNDS times, and prints records per second of each round: a loop to profile
//! the checker under (`perf record`, callgrind) without the text parse.
//!
//! `cargo run --release --example check_compact -- RECORDS [ROUNDS] [FIELD=VALUE ...]`
//! (RECORDS like `1e6`; the overrides as `ordo run --set` takes them, e.g.
//! `workload.handoff=same` for a history with far fewer anomalies).

#[path = "../benches/support/scaled.rs"]
mod scaled;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(records) = args.first().and_then(|s| scaled::parse_count(s)) else {
        eprintln!("usage: check_compact RECORDS [ROUNDS]   (RECORDS: 100000, 1e6, 1e7, ...)");
        std::process::exit(2);
    };
    let rounds: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    let overrides: Vec<String> = args.iter().skip(2).cloned().collect();
    let compact =
        scaled::scaled_compact_with(records, &overrides).history.compact.expect("compact mode keeps the history");
    {
        // Decoding alone, for comparison.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let mut sum = 0u64;
        for rec in compact.records() {
            sum = sum.wrapping_add(matches!(rec, ordo::history::Rec::Apply { .. }) as u64);
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{{\"decode_only_records_per_second\":{:.0},\"applies\":{sum}}}",
            compact.record_count() as f64 / seconds
        );
    }
    for _ in 0..rounds {
        // Wall time of a benchmark loop, outside any simulated world.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let report = compact.check("scaled", None).expect("the history is valid");
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{{\"records\":{},\"seconds\":{seconds:.3},\"records_per_second\":{:.0},\"anomalies\":{}}}",
            compact.record_count(),
            compact.record_count() as f64 / seconds,
            report.all_counts().values().sum::<u64>()
        );
    }
}
