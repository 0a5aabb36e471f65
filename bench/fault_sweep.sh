#!/usr/bin/env bash
# Faults caught under every seed: starts the emulator with one fault switch on, runs the
# harness's default run (no filter, no hand-written case aimed at the fault) against it under
# N seeds, and prints, per seed, whether the run failed and which trials and rules caught it.
# The same seeds against the correct emulator count false alarms.
#
#   bash bench/fault_sweep.sh [N] [FAULT,FAULT...]
#
# N       seeds 1..N (default 20).
# FAULT   emulator fault switches (default: ignore-sort-value, loose-credentials,
#         pem-subject-drops-chars, ignore-direction).
#
# Prints `FAULT: caught under C of N seeds` per fault and `correct emulator: K false alarms
# over N seeds`; exits 1 when a fault slipped through under some seed or a correct run failed.
# The binaries are built in release unless CSR_CONFORMANCE_BIN and CSR_EMULATOR_BIN name them.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=${1:-20}
[[ $seeds =~ ^[0-9]+$ ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
faults=${2:-ignore-sort-value,loose-credentials,pem-subject-drops-chars,ignore-direction}

token=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY
email=user@example.com
api_key=144c9defac04969c7bfad8efaa8ea194
account=a11ce0000000000000000000000000a1
zone=20e0000000000000000000000000020e

if [ -z "${CSR_CONFORMANCE_BIN:-}" ] || [ -z "${CSR_EMULATOR_BIN:-}" ]; then
  echo "building (release)..." >&2
  cargo build --quiet --release -p csr-emulator -p csr-conformance --bins
  CSR_CONFORMANCE_BIN=${CSR_CONFORMANCE_BIN:-target/release/csr-conformance}
  CSR_EMULATOR_BIN=${CSR_EMULATOR_BIN:-target/release/csr-emulator}
fi

# shellcheck source=bench/servers.sh
. bench/servers.sh

# Starts an emulator with the given extra arguments; prints its base URL.
start() {
  local log="$work/emulator.$RANDOM"
  "$CSR_EMULATOR_BIN" --listen 127.0.0.1:0 --preload 5 --reuse-keys 4 "$@" >"$log" 2>"$log.err" &
  pids+=($!)
  listening "$log"
}

# Runs the default run under seed $2 against base URL $1 with both credential kinds; the
# output goes to $work/run.out, the exit code is returned.
run() {
  CLOUDFLARE_API_TOKEN=$token CLOUDFLARE_EMAIL=$email CLOUDFLARE_API_KEY=$api_key \
    "$CSR_CONFORMANCE_BIN" --target "$1" --account-id $account --zone-id $zone --seed "$2" \
    --no-junit --no-html >"$work/run.out" 2>&1
}

# "trial (rules)" for each failing trial of the last run, from its failure header
# `TRIAL: N finding(s): RULE (xK), RULE`.
caught_by() {
  sed -n 's/^test  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\)  *\.\.\. FAILED$/\2/p' "$work/run.out" |
    while read -r trial; do
      rules=$(grep -F -m1 "$trial: " "$work/run.out" | sed -n 's/^[^ ]*: [0-9]* findings\{0,1\}: //p')
      echo -n "$trial${rules:+ ($rules)}; "
    done
}

status=0
began=$SECONDS
for fault in ${faults//,/ }; do
  base=$(start --fault "$fault")
  caught=0
  for ((seed = 1; seed <= seeds; seed++)); do
    if run "$base" $seed; then
      echo "$fault: seed $seed: NOT caught (the run passed)"
    else
      caught=$((caught + 1))
      echo "$fault: seed $seed: caught by $(caught_by)"
    fi
  done
  echo "$fault: caught under $caught of $seeds seeds"
  [ "$caught" -eq "$seeds" ] || status=1
done
base=$(start)
alarms=0
for ((seed = 1; seed <= seeds; seed++)); do
  if ! run "$base" $seed; then
    alarms=$((alarms + 1))
    echo "correct emulator: seed $seed: FALSE ALARM: $(caught_by)"
  fi
done
echo "correct emulator: $alarms false alarms over $seeds seeds; $((SECONDS - began)) s in all"
[ "$alarms" -eq 0 ] || status=1
exit $status
