#!/usr/bin/env bash
# ordo sweep on one many-core box with GNU parallel: one single-threaded shard per core,
# then the merge. (`ordo sweep --threads N` alone does the same on one machine; shards
# help when you want to stop and resume, or spread work over boxes that share a disk.)
# See docs/scale-out.md.
#
#   SEEDS=1..100000 bash docs/scale-out/parallel.sh   # writes results/sweep.json
set -euo pipefail

SCENARIO=${SCENARIO:-swarm}
STRATEGY=${STRATEGY:-key}
SEEDS=${SEEDS:-1..100000}
SHARDS=${SHARDS:-$(nproc)}
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS"

# {} is the shard index; --halt stops everything if one shard fails.
seq 0 $((SHARDS - 1)) | parallel --halt now,fail=1 -j "$SHARDS" \
    ordo sweep "$SCENARIO" --strategy "$STRATEGY" --seeds "$SEEDS" --threads 1 \
    --shard "{}/$SHARDS" --out "$RESULTS/part-{}.json"

ordo merge "$RESULTS"/part-*.json --json > "$RESULTS/sweep.json"
ordo merge "$RESULTS"/part-*.json
