#!/usr/bin/env bash
# False alarms under any seed: runs the harness with N seeds against four correct servers (the
# emulator's lenient, default and strict readings of the contract, and the independent Python
# server of harness/tests/targets/), in each mode a user can pick, and counts the trials that
# failed or errored. Every one of them is a false alarm: each target is correct.
#
#   bash bench/seed_sweep.sh N [MODES] [-- HARNESS_ARGS...]
#
# N        seeds per target and mode, from FIRST_SEED (default 1) up.
# MODES    comma-separated, from: full, account_email_key_slash, zone_root, read_only,
#          read_only_account_email_key_root_slash, read_only_zone_strict_slash,
#          strict_email_key_root; `all` (every mode) or `default` (full only; the default).
# HARNESS_ARGS go to every run, e.g. `-- --cases 8`.
#
# Prints one line per failing run (its seed, its failing trials and a command that reruns it),
# then `false alarms: K over N seeds × R targets` per mode and in all; exits 1 when K > 0.
# The binaries are built in release unless CSR_CONFORMANCE_BIN and CSR_EMULATOR_BIN name them.
# EMULATOR_ARGS are added to each emulator's command line (the suite uses it to plant a fault
# and see the sweep count it).
# The independent server needs Python's `cryptography` (bash .ci/install).
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] && [[ $1 =~ ^[0-9]+$ ]] || { sed -n '2,19p' "$0" >&2; exit 2; }
seeds=$1; shift
modes=default
if [ $# -gt 0 ] && [ "$1" != "--" ]; then modes=$1; shift; fi
[ "${1:-}" = "--" ] && shift
first=${FIRST_SEED:-1}
all_modes=full,account_email_key_slash,zone_root,read_only,read_only_account_email_key_root_slash,read_only_zone_strict_slash,strict_email_key_root
case $modes in
  default) modes=full ;;
  all) modes=$all_modes ;;
esac
for m in ${modes//,/ }; do
  [[ ",$all_modes," == *",$m,"* ]] || { echo "unknown mode $m (one of $all_modes)" >&2; exit 2; }
done

token=Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY
email=user@example.com
api_key=144c9defac04969c7bfad8efaa8ea194
account=a11ce0000000000000000000000000a1
zone=20e0000000000000000000000000020e
preload=5

if [ -z "${CSR_CONFORMANCE_BIN:-}" ] || [ -z "${CSR_EMULATOR_BIN:-}" ]; then
  echo "building (release)..." >&2
  cargo build --quiet --release -p csr-emulator -p csr-conformance --bins
  CSR_CONFORMANCE_BIN=${CSR_CONFORMANCE_BIN:-target/release/csr-conformance}
  CSR_EMULATOR_BIN=${CSR_EMULATOR_BIN:-target/release/csr-emulator}
fi

# shellcheck source=bench/servers.sh
. bench/servers.sh

targets=()
roots=()
for reading in lenient default strict; do
  # shellcheck disable=SC2086 # EMULATOR_ARGS is a list of words
  "$CSR_EMULATOR_BIN" --listen 127.0.0.1:0 --reading "$reading" --preload $preload --reuse-keys 4 \
    ${EMULATOR_ARGS:-} >"$work/$reading" 2>"$work/$reading.err" &
  pids+=($!)
  targets+=("emulator:$reading")
  url=$(listening "$work/$reading")
  roots+=("${url%/client/v4}")
done
python3 harness/tests/targets/independent_server.py --port 0 --token $token --email $email \
  --api-key $api_key --preload $preload >"$work/independent" 2>"$work/independent.err" &
pids+=($!)
targets+=("independent")
url=$(listening "$work/independent")
roots+=("${url%/client/v4}")

# The flags, credentials and base-URL suffix of each mode (as in harness/tests/modes.rs).
mode_setup() {
  args=(--account-id $account --zone-id $zone); cred=token; suffix=/client/v4
  case $1 in
    full) ;;
    account_email_key_slash) args=(--account-id $account); cred=email_key; suffix=/client/v4/ ;;
    zone_root) args=(--zone-id $zone); suffix="" ;;
    read_only) args+=(--read-only) ;;
    read_only_account_email_key_root_slash)
      args=(--account-id $account --read-only); cred=email_key; suffix=/ ;;
    read_only_zone_strict_slash) args=(--zone-id $zone --read-only --strict); suffix=/client/v4/ ;;
    strict_email_key_root) args+=(--strict); cred=email_key; suffix="" ;;
  esac
}

total=0
runs=0
began=$SECONDS
for mode in ${modes//,/ }; do
  mode_setup "$mode"
  alarms=0
  for i in "${!targets[@]}"; do
    for ((seed = first; seed < first + seeds; seed++)); do
      base="${roots[$i]}$suffix"
      out="$work/run.out"
      if [ "$cred" = token ]; then
        env -u CLOUDFLARE_EMAIL -u CLOUDFLARE_API_KEY CLOUDFLARE_API_TOKEN=$token \
          "$CSR_CONFORMANCE_BIN" --target "$base" --seed $seed --no-junit "${args[@]}" "$@" \
          >"$out" 2>&1 && code=0 || code=$?
      else
        env -u CLOUDFLARE_API_TOKEN CLOUDFLARE_EMAIL=$email CLOUDFLARE_API_KEY=$api_key \
          "$CSR_CONFORMANCE_BIN" --target "$base" --seed $seed --no-junit "${args[@]}" "$@" \
          >"$out" 2>&1 && code=0 || code=$?
      fi
      runs=$((runs + 1))
      # libtest's result line: "test result: ok. P passed; F failed; I ignored; ..."
      failed=$(sed -n 's/^test result: .* \([0-9]*\) failed;.*/\1/p' "$out" | tail -1)
      if [ "$code" -ne 0 ] || [ "${failed:-x}" != 0 ]; then
        n=${failed:-0}; [ "$n" -gt 0 ] || n=1
        alarms=$((alarms + n))
        echo "FALSE ALARM: mode $mode, target ${targets[$i]}, seed $seed, exit $code, $n failing trial(s):"
        sed -n 's/^test  *\(\[[^]]*\]  *\)\{0,1\}\([^ ]*\)  *\.\.\. FAILED$/  \2/p' "$out" | head -20
        grep -m1 -E '^(csr-conformance: |error)' "$out" | sed 's/^/  /' || true
        echo "  rerun (the emulator's test credentials as $cred in the CLOUDFLARE_* environment):"
        echo "    $CSR_CONFORMANCE_BIN --target $base --seed $seed ${args[*]} $*"
      fi
    done
  done
  echo "mode $mode: false alarms: $alarms over $seeds seeds × ${#targets[@]} targets"
  total=$((total + alarms))
done
echo "false alarms: $total over $seeds seeds × ${#targets[@]} targets (${targets[*]}), modes ${modes}; $runs runs in $((SECONDS - began)) s"
[ "$total" -eq 0 ]
