//! Checker speed: history records checked per second, on the standard scenario scaled to
//! about 10^5 and 10^6 records (`benches/support/scaled.rs`; 10^7 too with
//! `ORDO_BENCH_1E7=1`, which takes minutes). The history is generated once per size and
//! checked from memory (`check_reader` on the bytes), so file I/O is not measured;
//! `benches/checker_scale.sh` measures `ordo check` on files, with peak memory.
//!
//! `checker/compact_N` checks the same history kept as ordo's compact in-memory history
//! (`CompactHistory::check`, as `ordo sweep` does): the same checks and report, with the
//! records handed over field by field instead of formatted and parsed.
//!
//! `cargo bench --bench checker`. Criterion reports elements (records) per second.

#[path = "support/scaled.rs"]
mod scaled;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ordo::checker::check_reader;

fn checker(c: &mut Criterion) {
    let mut sizes = vec![100_000u64, 1_000_000];
    if std::env::var_os("ORDO_BENCH_1E7").is_some() {
        sizes.push(10_000_000);
    }
    let mut group = c.benchmark_group("checker");
    group.sample_size(10);
    for size in sizes {
        let result = scaled::scaled_run(size, None);
        let history = result.history.jsonl.expect("kept in memory");
        let records = result.history.records;
        eprintln!("scaled standard ~{size}: {records} records, {} bytes", history.len());
        group.throughput(Throughput::Elements(records));
        group.bench_function(format!("records_{size}"), |b| {
            b.iter(|| check_reader(&history[..], "bench.jsonl", None).expect("the history is valid"))
        });
        drop(history);
        let compact = scaled::scaled_compact(size).history.compact.expect("compact mode keeps the history");
        assert_eq!(compact.record_count(), records, "the same run");
        eprintln!(
            "  compact: {} bytes of records, {} in all ({:.1} bytes a record)",
            compact.record_bytes(),
            compact.memory_bytes(),
            compact.memory_bytes() as f64 / records as f64
        );
        group.bench_function(format!("compact_{size}"), |b| {
            b.iter(|| compact.check("bench", None).expect("the history is valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, checker);
criterion_main!(benches);
