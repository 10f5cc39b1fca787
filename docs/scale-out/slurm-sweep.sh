#!/usr/bin/env bash
# ordo sweep as a Slurm job array: task $SLURM_ARRAY_TASK_ID runs that shard of
# $SLURM_ARRAY_TASK_COUNT (0-based, so the array is 0-N-1). See docs/scale-out.md.
#
#   jobid=$(sbatch --parsable docs/scale-out/slurm-sweep.sh)
#   sbatch --dependency=afterok:$jobid --wrap 'ordo merge results/part-*.json --json > results/sweep.json'
#
# To change the number of shards, change --array; the script reads the count from Slurm.
#SBATCH --job-name=ordo-sweep
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=512M
#SBATCH --time=04:00:00
#SBATCH --output=results/slurm-%A_%a.log
set -euo pipefail

SCENARIO=${SCENARIO:-swarm}
STRATEGY=${STRATEGY:-key}
SEEDS=${SEEDS:-1..100000}
RESULTS=${RESULTS:-results}
mkdir -p "$RESULTS"

ordo sweep "$SCENARIO" --strategy "$STRATEGY" --seeds "$SEEDS" \
    --threads "${SLURM_CPUS_PER_TASK:-1}" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" \
    --out "$RESULTS/part-$SLURM_ARRAY_TASK_ID.json"
