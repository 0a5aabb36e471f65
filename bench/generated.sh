#!/usr/bin/env bash
# Generated-request throughput of csr-conformance against its embedded emulator (not run in
# CI): builds the release binary, runs only the generated properties with --cases CASES
# (10000 by default) and a fixed seed, and prints requests per second from the run's summary
# line (`csr-conformance: N requests (G generated) in T s, seed S`).
# Tunables: CASES (10000), SEED (1), FILTER (property::).
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${CASES:-10000}
seed=${SEED:-1}
filter=${FILTER:-property::}

cargo build --quiet --release -p csr-conformance --bin csr-conformance
out=$(mktemp)
trap 'rm -f "$out"' EXIT

start=$(date +%s.%N)
status=0
target/release/csr-conformance --no-junit --seed "$seed" --cases "$cases" -q "$filter" >"$out" 2>&1 || status=$?
end=$(date +%s.%N)

line=$(grep '^csr-conformance: [0-9]* requests' "$out" | tail -n 1)
[ -n "$line" ] || { echo "no summary line (exit $status):" >&2; tail -n 40 "$out" >&2; exit 1; }
echo "$line"
# csr-conformance: N requests (G generated) in T s, seed S
read -r requests generated secs < <(echo "$line" | sed -E 's/^csr-conformance: ([0-9]+) requests \(([0-9]+) generated\) in ([0-9.]+) s.*/\1 \2 \3/')
awk -v n="$requests" -v g="$generated" -v t="$secs" -v s="$start" -v e="$end" -v c="$cases" 'BEGIN {
  wall = e - s
  printf "cases per property: %d\nrequests: %d (%d generated)\nrun time: %.2f s (wall %.2f s)\nrequests per second: %.0f\n", c, n, g, t, wall, n / t
}'
[ "$status" -eq 0 ] || { echo "the run failed (exit $status); see above" >&2; exit "$status"; }
