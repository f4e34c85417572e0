#!/usr/bin/env bash
# Idle connections: does holding them cost the active client anything?
# For each backend and idle count, a fresh gotit-reactor, gotit-bench opens
# the idle pool, then one active connection ping-pongs; repeated ROUNDS
# times, medians reported: time to open the pool, server RSS growth per idle
# connection, the active client's p99 latency and its ratio to idle 0.
# Usage: scripts/bench-idle.sh [ROUNDS [SECONDS]]   (default 3 rounds of 3 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-3}
work=$(mktemp -d)
server_pid=
cleanup() { [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

one_run() {  # backend idle round
  local backend=$1 idle=$2 round=$3
  : > "$work/server.out"  # now, not when the background child gets to it (see study.sh)
  taskset -c 0 build/gotit-reactor --port 0 --bind 127.0.0.1 --backend "$backend" > "$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/server.out" && break; sleep 0.1; done
  local port baseline
  port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
  if [[ -z $port ]]; then
    echo "bench-idle.sh: gotit-reactor --backend $backend did not print 'listening on' within 5 s:" >&2
    cat "$work/server.out" >&2
    exit 1
  fi
  baseline=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
  # Eight source addresses: from one, Linux's connect() alone takes 3 s for
  # 19,000 connections (see kLoopbackSources in include/gotit/bench/socket.hpp).
  taskset -c 1 build/gotit-bench run --port "$port" --idle "$idle" --conns 1 --depth 1 --duration "$seconds" \
    --warmup 1 --server-pid "$server_pid" --no-progress --json "$work/r.json" \
    --source-addrs 127.0.0.1-127.0.0.8 > /dev/null
  python3 - "$work/r.json" "$backend" "$idle" "$baseline" >> "$work/results" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
idle, baseline_kib = int(sys.argv[3]), int(sys.argv[4])
after = r.get("server_after_idle") or {}
rss = after.get("rss_bytes", 0)
per_conn = (rss - baseline_kib * 1024) / idle if idle and rss else 0
print(sys.argv[2], idle, r["latency"]["p99_us"], r.get("idle_open_seconds", 0), per_conn, r["throughput_rps"])
PY
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=
}

for round in $(seq "$rounds"); do
  for spec in epoll:0 epoll:19000 poll:0 poll:1000 poll:9000; do
    one_run "${spec%%:*}" "${spec##*:}" "$round"
  done
done

python3 - "$work/results" "$rounds" "$seconds" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print(f"1 active connection, depth 1; {sys.argv[2]} rounds of {sys.argv[3]} s; medians")
print(f"{'backend':>7} {'idle':>6} {'open s':>7} {'B/idle conn':>11} {'req/s':>8} {'p99 us':>8} {'p99 vs idle 0':>13}")
base = {}
for backend, idle in [("epoll", "0"), ("epoll", "19000"), ("poll", "0"), ("poll", "1000"), ("poll", "9000")]:
    sel = [r for r in rows if r[0] == backend and r[1] == idle]
    p99 = statistics.median(float(r[2]) for r in sel)
    if idle == "0": base[backend] = p99
    opened = statistics.median(float(r[3]) for r in sel)
    per = statistics.median(float(r[4]) for r in sel)
    rps = statistics.median(float(r[5]) for r in sel)
    print(f"{backend:>7} {idle:>6} {opened:>7.2f} {per:>11.0f} {rps:>8.0f} {p99:>8.1f} {p99 / base[backend]:>12.2f}x")
PY
