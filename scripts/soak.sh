#!/usr/bin/env bash
# Soak: drives gotit-reactor for MINUTES with everything at once, and checks
# that it gives back what it took.
#   well-behaved load  gotit-bench: 1000 idle peers held throughout, 8
#                      pipelining connections (depth 4) at 20,000 requests/s
#                      open loop; every reply checked
#   bad peers          scripts/soak_peers.py: connection churn, oversized
#                      lines, resets mid-request, peers that never read
# Samples the server's open descriptors and RSS (its process and children:
# ready for --workers) every 5 s. Fails when a well-behaved client missed a
# reply or got a wrong one, or when the descriptors are not back to their
# baseline within 60 s after the load, or RSS is not back within 16 MiB of it.
# Vanished peers (no FIN, no RST) are not part of the mix: they need network
# namespaces; tests/integration/keepalive_test.cpp covers them.
# Usage: scripts/soak.sh MINUTES [BUILD_DIR]
#   SOAK_SERVER_ARGS="--workers 2" scripts/soak.sh 30   (extra server options)
set -euo pipefail
cd "$(dirname "$0")/.."
minutes="${1:?usage: scripts/soak.sh MINUTES [BUILD_DIR]}"
build="${2:-build}"
seconds=$(( minutes * 60 ))
work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  for pid in "${load_pids[@]:-}"; do [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
load_pids=()
trap cleanup EXIT

# shellcheck disable=SC2086  # SOAK_SERVER_ARGS is a list of words
"$build/gotit-reactor" --port 0 --bind 127.0.0.1 --stats-interval 30 ${SOAK_SERVER_ARGS:-} \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
[[ -n "$port" ]] || { echo "soak: gotit-reactor never printed 'listening on'" >&2; cat "$work/server.err" >&2; exit 1; }

# The server and its children (workers), by PID.
tree() { echo "$server_pid"; cat "/proc/$server_pid/task/$server_pid/children" 2>/dev/null | tr ' ' '\n' | grep . || true; }
fds() { local n=0; for p in $(tree); do n=$(( n + $(ls "/proc/$p/fd" 2>/dev/null | wc -l) )); done; echo "$n"; }
rss_kib() { local n=0; for p in $(tree); do n=$(( n + $(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0) )); done; echo "$n"; }
sample() { printf '%6ss  fds %6s  rss %7s KiB  %s\n' "$(( $(date +%s) - start ))" "$(fds)" "$(rss_kib)" "$1"; }

start=$(date +%s)
sleep 1
base_fds=$(fds); base_rss=$(rss_kib)
sample "baseline (port $port)"

"$build/gotit-bench" run --port "$port" --idle 1000 --conns 8 --depth 4 --rate 20000 \
  --duration "$seconds" --warmup 1 --no-progress >"$work/bench.log" 2>&1 &
load_pids+=($!)
bench_pid=$!
python3 scripts/soak_peers.py "$port" "$seconds" >"$work/peers.log" 2>&1 &
load_pids+=($!)
peers_pid=$!

peak_fds=0; peak_rss=0
while kill -0 "$bench_pid" 2>/dev/null || kill -0 "$peers_pid" 2>/dev/null; do
  sleep 5
  f=$(fds); r=$(rss_kib)
  (( f > peak_fds )) && peak_fds=$f
  (( r > peak_rss )) && peak_rss=$r
  sample "load"
done
bench_ok=0; wait "$bench_pid" || bench_ok=$?
peers_ok=0; wait "$peers_pid" || peers_ok=$?
load_pids=()

# Give back: every peer is gone now, so the descriptors must return.
for _ in $(seq 12); do
  (( $(fds) <= base_fds )) && break
  sleep 5
  sample "after"
done
after_fds=$(fds); after_rss=$(rss_kib)
sample "after the load"

kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""

echo "--- gotit-bench"; grep -E "^(target|throughput|latency|replies|idle|errors)" "$work/bench.log" || cat "$work/bench.log"
echo "--- peers"; cat "$work/peers.log"
echo "--- server"; grep -E "stopped:" "$work/server.err" || tail -n 3 "$work/server.err"
echo "--- figures"
echo "fds  baseline $base_fds, peak $peak_fds, after $after_fds"
echo "rss  baseline $base_rss KiB, peak $peak_rss KiB, after $after_rss KiB"

failed=0
if (( bench_ok != 0 )) || ! grep -q " 0 missing" "$work/bench.log" || ! grep -qE "^errors +none" "$work/bench.log"; then
  echo "soak: FAIL: the well-behaved load missed replies or saw errors"; failed=1
fi
(( peers_ok == 0 )) || { echo "soak: FAIL: a checked peer got a wrong answer"; failed=1; }
(( after_fds <= base_fds )) || { echo "soak: FAIL: $after_fds descriptors open after the load, $base_fds before"; failed=1; }
(( after_rss <= base_rss + 16384 )) || { echo "soak: FAIL: RSS $after_rss KiB after the load, $base_rss KiB before"; failed=1; }
(( failed == 0 )) && echo "soak: PASS ($minutes min)"
exit "$failed"
