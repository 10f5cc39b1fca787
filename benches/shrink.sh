#!/usr/bin/env bash
# How much `ordo shrink` reduces the failures of the trade-off matrix: for every cell of
# reports/matrix/matrix.json with a failing seed, sweep the cell's seeds, shrink the first
# failing one (on its first violated kind) and print the median reduction of events,
# faults and nodes, plus each cell's line. docs/shrinking.md quotes its last lines.
#   benches/shrink.sh            # all failing cells
#   CELLS=40 benches/shrink.sh   # the first 40 failing cells only
# ORDO_BIN picks the binary (default: target/release/ordo, built first).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${ORDO_BIN:-}" ]]; then
  cargo build --release --quiet
  ORDO_BIN=target/release/ordo
fi
export ORDO_BIN
python3 - <<'PY'
import json, os, subprocess, statistics
m = json.load(open("reports/matrix/matrix.json"))
seeds = "%d..%d" % (m["seeds"]["first"], m["seeds"]["last"])
cells = [c for c in m["cells"] if c["failing_seeds"] > 0]
limit = int(os.environ.get("CELLS", "0") or 0)
if limit:
    cells = cells[:limit]
rows = []
for c in cells:
    out = subprocess.run([os.environ["ORDO_BIN"], "sweep", c["scenario"], "--strategy", c["strategy"],
                          "--seeds", seeds, "--threads", "1",
                          "--shrink", "1", "--shrink-out", "/tmp/ordo-shrink-bench", "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print("skip", c["scenario"], c["strategy"], out.stderr.strip()[:200]); continue
    s = json.loads(out.stdout).get("shrunk", [])
    if not s:
        continue
    s = s[0]; a, b = s["original"], s["minimal"]
    nodes = lambda x: x["producers"] + x["consumers"] + x["brokers"]
    rows.append((a["events"], b["events"], a["faults"], b["faults"], nodes(a), nodes(b), s["runs"], s["cut_short"]))
    print(f'{c["scenario"]:32} {c["strategy"]:22} {s["kind"]:20} events {a["events"]}→{b["events"]} '
          f'faults {a["faults"]}→{b["faults"]} nodes {nodes(a)}→{nodes(b)} runs {s["runs"]}'
          + (f' (cut short: {s["cut_short"]})' if s["cut_short"] else ""))
if not rows:
    raise SystemExit("no failing cell was shrunk")
def med(i, j):
    return statistics.median(r[i] for r in rows), statistics.median(r[j] for r in rows)
def ratio(i, j):
    return statistics.median(r[j] / r[i] for r in rows if r[i] > 0)
print(f"\n{len(rows)} failing cells shrunk (of {len(cells)})")
for name, i, j in [("events", 0, 1), ("faults", 2, 3), ("nodes", 4, 5)]:
    before, after = med(i, j)
    print(f"median {name}: {before:g} → {after:g} (median kept fraction {ratio(i, j):.3f})")
print(f"median candidate runs: {statistics.median(r[6] for r in rows):g}; cut short: {sum(1 for r in rows if r[7])}")
PY
