#!/usr/bin/env bash
# ordo against its SimPy baseline and the raw heap ceiling, on this machine.
#
#   benches/compare.sh [ROUNDS]        # ROUNDS defaults to 5
#   ORDO_COMPARE_1E7=1 benches/compare.sh 3   # also the peak memory of ordo run at 10^7 records (~1 min)
#
# Builds ordo and the examples in release, sets up the SimPy venv (benches/simpy/setup.sh),
# measures the heap ceiling once, then alternates ROUNDS rounds of:
#   1. ordo, history off:          ordo run benches/standard.toml --no-history --json
#   2. SimPy baseline:             benches/simpy/standard.py --seed 1 (also timed as a whole process)
#   3. ordo, default run:          ordo run benches/standard.toml --json (compact history,
#                                  fingerprint and checker; also timed as a whole process)
#   4. ordo, compact history:      examples/run_standard compact
#   5. ordo, history to a file:    ordo run benches/standard.toml --json --history FILE
#   6. the checker on that JSONL:  ordo check FILE --json (whole process, records/s)
# then, once, the peak memory (max RSS) of the default ordo run on the standard scenario
# scaled to about 10^6 records (and 10^7 with ORDO_COMPARE_1E7=1). It prints each round,
# the medians and every figure against its goal (docs/benchmarks.md). Every figure but the
# default run's (two threads after the simulation: check and fingerprint) is
# single-threaded. Exits non-zero when any run fails or does not finish its workload.
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
cargo build --release --quiet --locked --bin ordo --example heap_ceiling --example run_standard
ordo="$target_dir/release/ordo"
heap_ceiling="$target_dir/release/examples/heap_ceiling"
run_standard="$target_dir/release/examples/run_standard"

echo "== SimPy venv" >&2
python="$(benches/simpy/setup.sh)"

echo "== heap ceiling (bare BinaryHeap, best of 5 x 2M pops per depth)" >&2
"$heap_ceiling" "$scenario" >"$work/ceiling.json"

# Wall time of a whole process, in ms, into $work/NAME-ROUND.wall.
timed() {
    local name="$1"
    shift
    local t0 t1
    t0=$(date +%s%N)
    "$@"
    t1=$(date +%s%N)
    echo $(( (t1 - t0) / 1000 )) | awk '{ printf "%.3f\n", $1 / 1000 }' >"$work/$name.wall"
}

for round in $(seq 1 "$rounds"); do
    echo "== round $round/$rounds" >&2
    "$ordo" run "$scenario" --no-history --json >"$work/ordo-off-$round.json"
    timed "simpy-$round" "$python" benches/simpy/standard.py --seed 1 >"$work/simpy-$round.json"
    timed "ordo-hash-$round" "$ordo" run "$scenario" --json >"$work/ordo-hash-$round.json"
    "$run_standard" compact 1 "$scenario" >"$work/ordo-compact-$round.json"
    "$ordo" run "$scenario" --json --history "$work/history.jsonl" >"$work/ordo-file-$round.json"
    # ordo check exits 1 when the history violates a guarantee (this one does: strategy key
    # lets rotating producers reorder); only 2 (bad input) or worse is a failure.
    status=0
    timed "check-$round" "$ordo" check "$work/history.jsonl" --json >"$work/check-$round.json" || status=$?
    if (( status > 1 )); then
        echo "ordo check failed with exit code $status" >&2
        exit 1
    fi
done

echo "== peak memory of the default ordo run, scaled to ~10^6 records" >&2
rss() { # max RSS in KB of a default run with ENTITIES entities over WINDOW ms
    /usr/bin/time -f "%M" -o "$work/rss" "$ordo" run "$scenario" --json \
        --set "workload.entities=$1" --set "workload.start_window_ms=$2" >"$work/scaled.json"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["history_records"], open(sys.argv[2]).read().strip())' \
        "$work/scaled.json" "$work/rss"
}
rss 20000 10000 >"$work/rss-1e6"
if [[ "${ORDO_COMPARE_1E7:-}" == 1 ]]; then
    echo "== peak memory at ~10^7 records" >&2
    rss 200000 100000 >"$work/rss-1e7"
fi

"$python" - "$work" "$rounds" <<'EOF'
import json, statistics, sys, platform, os

work, rounds = sys.argv[1], int(sys.argv[2])
path = lambda name: os.path.join(work, name)
load = lambda name: json.load(open(path(name)))
wall = lambda name: float(open(path(name + ".wall")).read())
ceiling = load("ceiling.json")
failed = []
rows = []
for r in range(1, rounds + 1):
    runs = {k: load(f"{k}-{r}.json") for k in ("ordo-off", "simpy", "ordo-hash", "ordo-file", "ordo-compact")}
    for name, run in runs.items():
        if run.get("stop_reason") != "done":
            failed.append(f"round {r} {name}: stop_reason {run.get('stop_reason')!r}")
    if runs["ordo-hash"].get("verdict") not in ("ok", "violated"):
        failed.append(f"round {r} ordo-hash: not checked")
    off, simpy = runs["ordo-off"], runs["simpy"]
    records = runs["ordo-file"]["history_records"]
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
        "run_process": wall(f"ordo-hash-{r}"),
        "simpy_process": wall(f"simpy-{r}"),
        "process_ratio": wall(f"simpy-{r}") / wall(f"ordo-hash-{r}"),
        "check_rps": records / (wall(f"check-{r}") / 1e3),
    })

first = load("ordo-off-1.json"), load("simpy-1.json"), load("ordo-hash-1.json")
print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
      f"load average {os.getloadavg()[0]:.1f} at the end")
print(f"scenario: benches/standard.toml, seed 1")
print(f"  ordo : {first[0]['events']} engine events, {first[0]['sim_time_ms']:.1f} ms simulated, "
      f"{first[2]['history_records']} history records (sha256 {first[2]['history_sha256'][:16]}...)")
print(f"  SimPy: {first[1]['events']} events (same counting), {first[1]['sim_time_ms']:.1f} ms simulated")
print(f"heap ceiling: {ceiling['pops_per_sec_1k']/1e6:.2f} M pops/s at depth 1000; "
      f"{ceiling['pops_per_sec_standard']/1e6:.2f} M pops/s at depth {ceiling['depth_standard_max']} "
      f"(the standard scenario's queue_depth_max)")
print()
header = ("round", "ordo ev/s", "SimPy ev/s", "ordo/SimPy", "of ceiling", "x real time", "compact ev/s",
          "run sim ev/s", "hist file ev/s", "run process", "SimPy process", "SimPy/run", "check rec/s")
print("  ".join(f"{h:>14}" for h in header))
fmt = lambda row, label: "  ".join([
    f"{label:>14}", f"{row['ordo']/1e6:>12.2f} M", f"{row['simpy']/1e3:>12.1f} k", f"{row['ratio']:>13.1f}x",
    f"{row['ceiling_frac']*100:>13.1f}%", f"{row['realtime']:>13.0f}x", f"{row['compact']/1e6:>12.2f} M",
    f"{row['hash']/1e6:>12.2f} M",
    f"{row['file']/1e6:>12.2f} M",
    f"{row['run_process']:>11.1f} ms", f"{row['simpy_process']:>11.1f} ms", f"{row['process_ratio']:>13.2f}x",
    f"{row['check_rps']/1e6:>12.2f} M",
])
for r, row in enumerate(rows, 1):
    print(fmt(row, str(r)))
median = {k: statistics.median(row[k] for row in rows) for k in rows[0]}
print(fmt(median, "median"))
print()
print("'run sim ev/s': the default ordo run's simulation (compact history). 'run process', 'SimPy process':")
print("whole processes (start, parse, simulate, fingerprint, check, print; the interpreter's start and")
print("import included). 'check rec/s': ordo check on the run's JSONL history, whole process (read,")
print("check, witness lines from a second read, render).")
print()
memory = []
for size in ("1e6", "1e7"):
    if os.path.exists(path(f"rss-{size}")):
        records, kb = open(path(f"rss-{size}")).read().split()
        memory.append((size, int(records), int(kb) / 1024))
print("goals (issues 6 and 21), medians:")
goals = [
    ("engine >= 10M events/s with the full history recorded (compact, in memory)", median["compact"] >= 10e6, f"{median['compact']/1e6:.2f} M/s"),
    ("history at most 32 bytes per event in memory (compact)", median["compact_bytes"] <= 32, f"{median['compact_bytes']:.1f} bytes"),
    ("checker >= 5M records/s on the standard history's JSONL (ordo check FILE)", median["check_rps"] >= 5e6, f"{median['check_rps']/1e6:.2f} M records/s"),
    (">= 15x SimPy's callback style (history off)", median["ratio"] >= 15, f"{median['ratio']:.1f}x"),
    ("about half the raw heap ceiling at 1k pending (history off)", median["ceiling_frac"] >= 0.45, f"{median['ceiling_frac']*100:.1f}%"),
    (">= 1000x faster than real time (history off)", median["realtime"] >= 1000, f"{median['realtime']:.0f}x"),
]
for size, records, mb in memory:
    limit = {"1e6": 100, "1e7": 1000}[size]
    goals.append((f"default ordo run on ~10^{size[-1]} records ({records:,}) under {limit} MB peak", mb < limit, f"{mb:.0f} MB"))
for text, met, value in goals:
    print(f"  [{'met ' if met else 'MISS'}] {text}: {value}")
print(f"  [info] default ordo run against SimPy on the same model, whole process: {median['process_ratio']:.2f}x "
      f"faster ({median['run_process']:.0f} ms against {median['simpy_process']:.0f} ms)")
if failed:
    print("\nFAILED:\n  " + "\n  ".join(failed), file=sys.stderr)
    sys.exit(1)
EOF
