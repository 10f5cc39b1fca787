#!/usr/bin/env bash
# Prints the history fingerprint (SHA-256 of the JSONL) of every bundled scenario and the
# standard benchmark scenario at seeds 1-3, one line each: `scenario seed sha256`.
# Speed work must leave this output unchanged:
#   benches/fingerprints.sh > before.txt; (change); benches/fingerprints.sh | diff before.txt -
# ORDO_BIN picks the binary (default: target/release/ordo, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${ORDO_BIN:-}" ]]; then
  cargo build --release --quiet
  ORDO_BIN=target/release/ordo
fi
for scenario in scenarios/*.toml benches/standard.toml; do
  for seed in 1 2 3; do
    sha=$({ "$ORDO_BIN" run "$scenario" --seed "$seed" --json || true; } | sed -n 's/.*"history_sha256": *"\([0-9a-f]*\)".*/\1/p' | head -1)
    echo "$scenario $seed ${sha:-none}"
  done
done
