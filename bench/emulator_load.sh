#!/usr/bin/env bash
# Load benchmark of csr-emulator (not run in CI): builds the release binary, starts it on a free
# loopback port, drives it with wrk for DURATION seconds (list / get / create / delete mix, see
# emulator_load.lua), samples its RSS from /proc at start, middle and end, and prints a summary.
# Needs wrk (apt-get install wrk) and curl. Tunables: DURATION (60), THREADS (2), CONNECTIONS (8).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-60}
threads=${THREADS:-2}
connections=${CONNECTIONS:-8}
token=${CSR_EMULATOR_TOKEN:-Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY}

for tool in wrk curl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install $tool)" >&2; exit 2; }
done

cargo build --quiet --release -p csr-emulator --bin csr-emulator
bin=target/release/csr-emulator

workdir=$(mktemp -d)
"$bin" --listen 127.0.0.1:0 >"$workdir/emulator.out" 2>"$workdir/emulator.err" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

for _ in $(seq 100); do
  grep -q 'listening on' "$workdir/emulator.out" 2>/dev/null && break
  sleep 0.1
done
base=$(sed -n 's/^csr-emulator listening on //p' "$workdir/emulator.out")
[ -n "$base" ] || { echo "emulator did not start" >&2; cat "$workdir/emulator.err" >&2; exit 1; }
root=${base%/client/v4}

known_id=$(curl -sf -X POST "$base/zones/benchzone/custom_csrs" \
  -H "Authorization: Bearer $token" \
  -d '{"country":"US","state":"CA","locality":"SF","organization":"Bench","common_name":"known.cloudflare-demo.com","sans":["known.cloudflare-demo.com"],"key_type":"p256v1"}' \
  | sed -n 's/.*"result":{"id":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$known_id" ] || { echo "could not create the CSR the benchmark reads" >&2; exit 1; }

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
rss_start=$(rss_kib)

BENCH_CSR_ID=$known_id CSR_EMULATOR_TOKEN=$token \
  wrk -t"$threads" -c"$connections" -d"${duration}s" -s bench/emulator_load.lua "$root" \
  >"$workdir/wrk.out" 2>&1 &
wrk_pid=$!
sleep $((duration / 2))
rss_mid=$(rss_kib)
wait "$wrk_pid"
rss_end=$(rss_kib)

alive=no
kill -0 "$pid" 2>/dev/null && alive=yes
after=$(curl -s -o /dev/null -w '%{http_code}' "$base/zones/benchzone/custom_csrs/$known_id" -H "Authorization: Bearer $token")
left=$(curl -s "$base/zones/benchzone/custom_csrs?per_page=5" -H "Authorization: Bearer $token" \
  | sed -n 's/.*"total_count":\([0-9]*\).*/\1/p')

cat "$workdir/wrk.out"
requests=$(awk '/requests in/ {print $1}' "$workdir/wrk.out")
rps=$(awk '/^Requests\/sec/ {print $2}' "$workdir/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' "$workdir/wrk.out")
sock=$(grep -o 'Socket errors:.*' "$workdir/wrk.out" || true)
echo
echo "== csr-emulator load: ${duration}s, $threads threads, $connections connections (list/get/create/delete)"
echo "requests:           ${requests:-?}"
echo "requests/s:         ${rps:-?}"
echo "non-2xx responses:  ${non2xx:-0}"
echo "socket errors:      ${sock:-none}"
echo "RSS start/mid/end:  ${rss_start} / ${rss_mid} / ${rss_end} KiB"
echo "alive afterwards:   $alive (GET known CSR -> $after; CSRs left in the zone: ${left:-?})"
[ "$alive" = yes ] && [ "$after" = 200 ] && [ -z "$non2xx" ] && [ -z "$sock" ]
