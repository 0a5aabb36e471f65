# Sourced by the bench scripts: a scratch directory and servers started in the background,
# all removed when the script exits; `listening FILE` waits for a server's address.
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# Waits (up to 30 s) for a line "... listening on URL" in FILE, as the emulator, the fixed-body
# server and the independent server print it, and prints URL; exits naming FILE if none comes.
listening() {
  for _ in $(seq 600); do
    url=$(sed -n 's/^\(.* \)\{0,1\}listening on \(http[^ ]*\).*/\2/p' "$1" | head -1)
    [ -n "$url" ] && { echo "$url"; return; }
    sleep 0.05
  done
  echo "no server came up (see $1)" >&2; cat "$1" "$1.err" >&2 2>/dev/null; exit 1
}
