#!/usr/bin/env bash
# ordo against its SimPy baseline and the raw heap ceiling, on this machine.
#
#   benches/compare.sh [ROUNDS]        # ROUNDS defaults to 5
#
# Builds ordo and the heap-ceiling example in release, sets up the SimPy venv
# (benches/simpy/setup.sh), measures the heap ceiling once, then alternates ROUNDS rounds of:
#   1. ordo, history off:          ordo run benches/standard.toml --no-history --json
#   2. SimPy baseline:             benches/simpy/standard.py --seed 1
#   3. ordo, history fingerprint:  ordo run benches/standard.toml --json
#   4. ordo, history to a file:    ordo run benches/standard.toml --json --history FILE
# and prints each round and the medians: engine events/s, the ordo/SimPy ratio, ordo as a
# fraction of the heap ceiling, and simulated time / wall time. Every figure is a
# single-threaded run. Exits non-zero when any run fails or does not finish its workload.
# See docs/benchmarks.md.
set -euo pipefail

rounds="${1:-5}"
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: benches/compare.sh [ROUNDS]   (ROUNDS: a positive integer, default 5)" >&2
    exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
scenario="benches/standard.toml"
work="$(mktemp -d "${TMPDIR:-/tmp}/ordo-compare.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "== building (release)" >&2
cargo build --release --quiet --bin ordo --example heap_ceiling --example run_standard
ordo="$target_dir/release/ordo"
heap_ceiling="$target_dir/release/examples/heap_ceiling"
run_standard="$target_dir/release/examples/run_standard"

echo "== SimPy venv" >&2
python="$(benches/simpy/setup.sh)"

echo "== heap ceiling (bare BinaryHeap, best of 5 x 2M pops per depth)" >&2
"$heap_ceiling" "$scenario" >"$work/ceiling.json"

for round in $(seq 1 "$rounds"); do
    echo "== round $round/$rounds" >&2
    "$ordo" run "$scenario" --no-history --json >"$work/ordo-off-$round.json"
    "$python" benches/simpy/standard.py --seed 1 >"$work/simpy-$round.json"
    "$ordo" run "$scenario" --json >"$work/ordo-hash-$round.json"
    "$run_standard" compact 1 "$scenario" >"$work/ordo-compact-$round.json"
    "$ordo" run "$scenario" --json --history "$work/history.jsonl" >"$work/ordo-file-$round.json"
done

"$python" - "$work" "$rounds" <<'EOF'
import json, statistics, sys, platform, os

work, rounds = sys.argv[1], int(sys.argv[2])
load = lambda name: json.load(open(os.path.join(work, name)))
ceiling = load("ceiling.json")
failed = []
rows = []
for r in range(1, rounds + 1):
    runs = {k: load(f"{k}-{r}.json") for k in ("ordo-off", "simpy", "ordo-hash", "ordo-file", "ordo-compact")}
    for name, run in runs.items():
        if run.get("stop_reason") != "done":
            failed.append(f"round {r} {name}: stop_reason {run.get('stop_reason')!r}")
    off, simpy = runs["ordo-off"], runs["simpy"]
    rows.append({
        "ordo": off["events_per_sec"],
        "simpy": simpy["events_per_sec"],
        "ratio": off["events_per_sec"] / simpy["events_per_sec"],
        "ceiling_frac": off["events_per_sec"] / ceiling["pops_per_sec_1k"],
        "realtime": off["sim_time_ms"] / off["wall_ms"],
        "hash": runs["ordo-hash"]["events_per_sec"],
        "compact": runs["ordo-compact"]["events_per_second"],
        "compact_bytes": runs["ordo-compact"]["history_bytes"] / runs["ordo-compact"]["events"],
        "file": runs["ordo-file"]["events_per_sec"],
        "ordo_wall": off["wall_ms"],
        "simpy_wall": simpy["wall_ms"],
    })

first = load("ordo-off-1.json"), load("simpy-1.json"), load("ordo-hash-1.json")
print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; single-threaded runs")
print(f"scenario: benches/standard.toml, seed 1")
print(f"  ordo : {first[0]['events']} engine events, {first[0]['sim_time_ms']:.1f} ms simulated, "
      f"{first[2]['history_records']} history records (sha256 {first[2]['history_sha256'][:16]}...)")
print(f"  SimPy: {first[1]['events']} events (same counting), {first[1]['sim_time_ms']:.1f} ms simulated")
print(f"heap ceiling: {ceiling['pops_per_sec_1k']/1e6:.2f} M pops/s at depth 1000; "
      f"{ceiling['pops_per_sec_standard']/1e6:.2f} M pops/s at depth {ceiling['depth_standard_max']} "
      f"(the standard scenario's queue_depth_max)")
print()
header = ("round", "ordo ev/s", "SimPy ev/s", "ordo/SimPy", "of ceiling", "x real time", "compact ev/s", "hist hash ev/s", "hist file ev/s")
print("  ".join(f"{h:>14}" for h in header))
fmt = lambda row, label: "  ".join([
    f"{label:>14}", f"{row['ordo']/1e6:>12.2f} M", f"{row['simpy']/1e3:>12.1f} k", f"{row['ratio']:>13.1f}x",
    f"{row['ceiling_frac']*100:>13.1f}%", f"{row['realtime']:>13.0f}x", f"{row['compact']/1e6:>12.2f} M",
    f"{row['hash']/1e6:>12.2f} M",
    f"{row['file']/1e6:>12.2f} M",
])
for r, row in enumerate(rows, 1):
    print(fmt(row, str(r)))
median = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
print(fmt(median, "median"))
print()
print("goals (from the issue), medians:")
goals = [
    ("engine >= 10M events/s with the full history recorded (compact, in memory)", median["compact"] >= 10e6, f"{median['compact']/1e6:.2f} M/s"),
    ("history at most 32 bytes per event in memory (compact)", median["compact_bytes"] <= 32, f"{median['compact_bytes']:.1f} bytes"),
    ("engine >= 10M events/s with the history as JSONL, fingerprinted", median["hash"] >= 10e6, f"{median['hash']/1e6:.2f} M/s"),
    ("engine >= 10M events/s with the history streamed to a file", median["file"] >= 10e6, f"{median['file']/1e6:.2f} M/s"),
    (">= 15x SimPy's callback style", median["ratio"] >= 15, f"{median['ratio']:.1f}x"),
    ("about half the raw heap ceiling at 1k pending (history off)", median["ceiling_frac"] >= 0.45, f"{median['ceiling_frac']*100:.1f}%"),
    (">= 1000x faster than real time (history off)", median["realtime"] >= 1000, f"{median['realtime']:.0f}x"),
]
for text, met, value in goals:
    print(f"  [{'met ' if met else 'MISS'}] {text}: {value}")
if failed:
    print("\nFAILED:\n  " + "\n  ".join(failed), file=sys.stderr)
    sys.exit(1)
EOF
