#!/usr/bin/env bash
# Speed figures of this machine, in one run (not part of the test suite; figures vary with load):
#   1. the harness: checked exchanges per second against the embedded emulator, and its peak RSS;
#   2. GET requests per second and p99 latency under wrk (1 thread, 32 connections, DURATION s)
#      of the emulator, of Prism serving the Custom CSR spec, and of a fixed-body axum server
#      (emulator/examples/fixed_body.rs, the same stack answering one fixed body: the limit);
#   3. the ratios the targets are stated in.
# Arguments are passed to the harness instead of the default `--cases 10000`. Installs wrk with
# apt-get and Prism with `bash .ci/install` when they are missing. Each wrk figure is the median
# of ROUNDS runs, the servers taking turns, so that a burst of other work on the machine moves
# one round, not the result. Tunables: DURATION (2 s per run), ROUNDS (3), WARMUP (1 s, before
# the first round only).
set -euo pipefail
cd "$(dirname "$0")/.."

duration=${DURATION:-2}
rounds=${ROUNDS:-3}
warmup=${WARMUP:-1}
token=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY
zone=023e105f4ecef8ad9ca31a8372d0c353

# wrk for the load, GNU time for the harness's peak RSS.
if ! command -v wrk >/dev/null || [ ! -x /usr/bin/time ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk time >/dev/null
fi
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 2; }
[ $# -gt 0 ] || set -- --cases 10000

# shellcheck source=bench/servers.sh
. bench/servers.sh
began=$SECONDS
# Prism installs (mostly downloading) while the build uses the cores.
installing=""
if [ ! -x .ci/node/node_modules/.bin/prism ]; then
  bash .ci/install >"$work/install.log" 2>&1 &
  installing=$!
fi
echo "building (release)..." >&2
cargo build --quiet --release -p csr-emulator -p csr-conformance --bins --example fixed_body
built=$((SECONDS - began))
if [ -n "$installing" ] && ! wait "$installing"; then
  echo "could not install Prism (see below); its figures are left out" >&2; tail -5 "$work/install.log" >&2
fi

    sleep 0.05
  done
  echo "no server came up (see $1)" >&2; cat "$1" >&2; exit 1
}

# wrk's p99 in milliseconds from its --latency output.
p99_ms() {
  awk '$1 == "99%" {
    v = $2; unit = v; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", v);
    if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; else if (unit == "m") v *= 60000;
    printf "%.3f", v }' "$1"
}
rps() { awk '/^Requests\/sec/ {printf "%.0f", $2}' "$1"; }

# GET url with auth headers, 1 thread, 32 connections; round $3 of server $1.
load() {
  local name=$1 url=$2 round=$3
  # Warmed up once: the servers keep running, so later rounds find them warm.
  if [ "$round" = 1 ]; then
    wrk -t1 -c32 -d"${warmup}s" -H "Authorization: Bearer $token" "$url" >/dev/null 2>&1 || true
  fi
  wrk -t1 -c32 -d"${duration}s" --latency -H "Authorization: Bearer $token" "$url" >"$work/$name.$round.wrk" 2>&1
  if grep -q "Non-2xx" "$work/$name.$round.wrk"; then
    echo "warning: $name answered non-2xx statuses: $(grep Non-2xx "$work/$name.$round.wrk")" >&2
  fi
}

# The median over the rounds of server $1 of figure $2 (rps or p99_ms).
median() {
  for f in "$work/$1".*.wrk; do "$2" "$f"; echo; done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# 1. The harness against its embedded emulator.
/usr/bin/time -f "%M" -o "$work/harness.rss" \
  target/release/csr-conformance -q --junit "$work/junit.xml" "$@" >"$work/harness.out" 2>"$work/harness.err" || {
  echo "the harness run failed:" >&2; tail -20 "$work/harness.err" >&2; exit 1; }
# The run's last line: `csr-conformance: N requests (G generated) in T s, seed S`.
line=$(grep -E '^csr-conformance: [0-9]+ requests' "$work/harness.out" | tail -1)
exchanges=$(echo "$line" | sed -n 's/^csr-conformance: \([0-9]*\) requests.*/\1/p')
seconds=$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s, seed.*/\1/p')
per_sec=$(awk -v n="$exchanges" -v t="$seconds" 'BEGIN { if (t > 0) printf "%.0f", n / t; else print "n/a" }')
rss_kib=$(tail -1 "$work/harness.rss")

# 2a. The emulator: GET of one CSR.
target/release/csr-emulator --listen 127.0.0.1:0 >"$work/emulator.out" 2>&1 &
pids+=($!)
emu=$(listening "$work/emulator.out")
id=$(curl -sf -X POST "$emu/zones/$zone/custom_csrs" -H "Authorization: Bearer $token" \
  -d '{"country":"US","state":"CA","locality":"SF","organization":"Bench","common_name":"bench.cloudflare-demo.com","sans":["bench.cloudflare-demo.com"],"key_type":"p256v1"}' \
  | sed -n 's/.*"result":{"id":"\([0-9a-f-]*\)".*/\1/p')
[ -n "$id" ] || { echo "could not create the CSR the benchmark reads" >&2; exit 1; }
get_path="/zones/$zone/custom_csrs/$id"
curl -sf "$emu$get_path" -H "Authorization: Bearer $token" >"$work/body.json"

# 2b. The fixed-body server, answering exactly the emulator's bytes.
target/release/examples/fixed_body 127.0.0.1:0 "$work/body.json" >"$work/fixed.out" 2>&1 &
pids+=($!)
fixed=$(listening "$work/fixed.out")

# 2c. Prism on the Custom CSR spec.
prism=.ci/node/node_modules/.bin/prism
have_prism=no
if [ -x "$prism" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$prism" mock -h 127.0.0.1 -p "$port" harness/tests/data/custom_csrs.openapi.json >"$work/prism.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do
    curl -s -o /dev/null "http://127.0.0.1:$port$get_path" -H "Authorization: Bearer $token" && { have_prism=yes; break; }
    sleep 0.1
  done
else
  echo "Prism is not installed: its figures are left out" >&2
fi

echo "measuring: $rounds rounds of ${duration} s per server..." >&2
for round in $(seq "$rounds"); do
  load emulator "$emu$get_path" "$round"
  load fixed "$fixed$get_path" "$round"
  if [ "$have_prism" = yes ]; then load prism "http://127.0.0.1:$port$get_path" "$round"; fi
done

emu_rps=$(median emulator rps); emu_p99=$(median emulator p99_ms)
fix_rps=$(median fixed rps); fix_p99=$(median fixed p99_ms)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo
echo "== harness against the embedded emulator (args: ${*:-none})"
echo "requests, every answer checked: $exchanges in $seconds s"
echo "checked requests/s:       $per_sec   (target: >= 10000 at --cases 10000)"
echo "peak RSS:                 $((rss_kib / 1024)) MiB   (target: < 64 MiB)"
echo
echo "== wrk GET, 1 thread, 32 connections, median of $rounds x ${duration} s  requests/s     p99 (ms)"
printf "%-45s %12s %12s\n" "emulator" "$emu_rps" "$emu_p99"
printf "%-45s %12s %12s\n" "fixed-body axum server (the limit)" "$fix_rps" "$fix_p99"
if [ "$have_prism" = yes ]; then
  pr_rps=$(median prism rps); pr_p99=$(median prism p99_ms)
  printf "%-45s %12s %12s\n" "Prism" "$pr_rps" "$pr_p99"
fi
echo
echo "== ratios (targets: >= 25x Prism, >= 0.90 of fixed-body rate, p99 <= 1.5x fixed-body)"
if [ "$have_prism" = yes ]; then echo "emulator / Prism rate:        $(ratio "$emu_rps" "$pr_rps")x"; fi
echo "emulator / fixed-body rate:   $(ratio "$emu_rps" "$fix_rps")"
echo "emulator / fixed-body p99:    $(ratio "$emu_p99" "$fix_p99")"
echo
echo "(${SECONDS} s in all, of which ${built} s building)"
