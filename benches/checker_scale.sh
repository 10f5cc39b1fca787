#!/usr/bin/env bash
# The checker on files of about 10^5, 10^6 and 10^7 records: wall time, CPU time, records
# per second and peak memory of `ordo check`, the history read from a file.
#
#   benches/checker_scale.sh [ROUNDS] [SIZES...]     # ROUNDS defaults to 3; sizes 1e5 1e6 1e7
#
# Histories are the standard scenario scaled by `examples/scaled_history.rs` (deterministic)
# and cached in ${ORDO_BENCH_DIR:-/tmp/ordo-checker-scale} (the 10^7 one is 1.6 GB). Each
# size is checked ROUNDS times; the medians are printed. Needs /usr/bin/time.
# ORDO_BIN=path/to/ordo checks with that binary instead (to compare builds).
# See docs/benchmarks.md.
set -euo pipefail

rounds="${1:-3}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1e5 1e6 1e7)
if ! [[ "$rounds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: benches/checker_scale.sh [ROUNDS] [SIZES...]" >&2
    exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
dir="${ORDO_BENCH_DIR:-/tmp/ordo-checker-scale}"
mkdir -p "$dir"

echo "== building (release)" >&2
cargo build --release --quiet --bin ordo --example scaled_history
ordo="${ORDO_BIN:-$target_dir/release/ordo}"

for size in "${sizes[@]}"; do
    file="$dir/standard-$size.jsonl"
    if [ ! -s "$file" ]; then
        echo "== generating $file" >&2
        "$target_dir/release/examples/scaled_history" "$size" "$file" >&2
    fi
done

printf '%-6s %10s %9s %9s %9s %12s %9s\n' size records wall_s user_s sys_s records/s peak_MB
for size in "${sizes[@]}"; do
    file="$dir/standard-$size.jsonl"
    records=$(($(wc -l <"$file") - 1))
    rows=()
    for _ in $(seq 1 "$rounds"); do
        # exit 1 (violations found) is expected for this history; 2 would be bad input
        set +e
        out=$( { /usr/bin/time -f "%e %U %S %M" "$ordo" check "$file" >/dev/null; } 2>&1 )
        set -e
        rows+=("$(tail -1 <<<"$out")")
    done
    printf '%s\n' "${rows[@]}" | sort -n | awk -v size="$size" -v records="$records" -v n="$rounds" '
        { wall[NR]=$1; user[NR]=$2; sys[NR]=$3; mem[NR]=$4 }
        END {
            m = int((n + 1) / 2)
            printf "%-6s %10d %9.2f %9.2f %9.2f %12.0f %9.0f\n", size, records, wall[m], user[m], sys[m], records / wall[m], mem[m] / 1024
        }'
done
