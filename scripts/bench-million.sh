#!/usr/bin/env bash
# A million idle connections through one port: gotit-reactor --workers auto,
# filled by gotit-bench's helper processes from 127.0.0.1-127.0.0.N, with an
# active client measured in SAMPLES windows before (0 idle) and SAMPLES while
# they are held (medians compared), and the time a graceful stop of the whole
# server takes with them held.
# The baseline: one plain process (no master) at 19,000.
# Usage: scripts/bench-million.sh [IDLE [BASELINE_IDLE]]  (default 1000000 19000)
# Needs about 11.3 KiB of MemAvailable per connection; run it alone
# (flock -x /tmp/gotit-cpu.lock scripts/bench-million.sh). It sets
# net.ipv4.tcp_migrate_req=1 (root) for its run and restores it.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-1000000}
baseline_idle=${2:-19000}
seconds=3
samples=${SAMPLES:-5}  # active-client windows with and without the idle pool
work=$(mktemp -d)
server_pid= bench_pid=
source scripts/idle-fill-lib.sh
trap 'end_run "$work" "$bench_pid" "$server_pid"' EXIT

require_memory_for bench-million.sh "$idle"
enable_request_migration

start_server() {  # ARGS...
  : > "$work/server.out"  # now, not when the background child gets to it (see study.sh)
  build/gotit-reactor --port 0 --bind 127.0.0.1 "$@" > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q listening "$work/server.out" && break; sleep 0.1; done
  port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n $port ]] || { echo "gotit-reactor $* printed no 'listening on':" >&2; cat "$work/server.err" >&2; exit 1; }
}

stop_server() {  # sets stop_seconds: how long a graceful stop took
  local start end
  start=$(date +%s.%N)
  kill -TERM "$server_pid"
  wait "$server_pid" || { echo "gotit-reactor did not stop cleanly:" >&2; tail -5 "$work/server.err" >&2; exit 1; }
  end=$(date +%s.%N)
  server_pid=
  stop_seconds=$(python3 -c "print('%.2f' % ($end - $start))")
}

bench() {  # NAME IDLE [ARGS...]
  local name=$1 n=$2; shift 2
  build/gotit-bench run --port "$port" --idle "$n" --conns 1 --depth 1 --duration "$seconds" --warmup 1 \
    --server-pid "$server_pid" --connect-timeout 20 --json "$work/$name.json" "$@" > "$work/$name.out" 2> "$work/$name.err"
}

field() {  # NAME PYTHON-EXPRESSION over r (the JSON)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$work/$1.json"
}

p99() {  # NAME: the active client's p99 in microseconds
  field "$1" 'r["latency"]["p99_us"]'
}

median() {  # NUMBERS...
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

scenario() {  # LABEL IDLE SERVER-ARGS...
  local label=$1 n=$2; shift 2
  local quiet=() loaded=() i
  start_server "$@"
  # The active client alone, $samples times; one 3 s window moves with
  # whatever else the machine does, so the ratio is of medians.
  for i in $(seq "$samples"); do bench "quiet$i" 0; quiet+=("$(p99 "quiet$i")"); done
  bench loaded "$n"
  loaded+=("$(p99 loaded)")
  # A second fill is held by another bench while the active client runs
  # again, and then while the server stops: the stop's time is with it held.
  # Its own active connection sends once a second (--rate 1), so it adds no load.
  build/gotit-bench run --port "$port" --idle "$n" --conns 1 --rate 1 --duration 900 --warmup 0 \
    --connect-timeout 20 > "$work/held.out" 2> "$work/held.err" &
  bench_pid=$!
  for _ in $(seq 1800); do grep -q "$n/$n opened" "$work/held.err" && break; sleep 0.1; done
  sleep 2
  for i in $(seq 2 "$samples"); do bench "loaded$i" 0; loaded+=("$(p99 "loaded$i")"); done
  local workers
  workers=$(grep -c '' <(pgrep -P "$server_pid") || true)
  stop_server
  kill "$bench_pid"; wait "$bench_pid" 2>/dev/null || true; bench_pid=
  local quiet_median loaded_median
  quiet_median=$(median "${quiet[@]}")
  loaded_median=$(median "${loaded[@]}")
  echo "## $label: $* ($workers worker processes)"
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| idle connections opened / held | $(field loaded 'r["idle_opened"]') / $(field loaded 'r["idle_held"]') of $n |"
  echo "| time to open | $(field loaded '"%.1f s" % r["idle_open_seconds"]') |"
  echo "| errors (refused, lost, unanswered) | $(field loaded 'sum(r["errors"].values())') |"
  echo "| active p50 / p99, 0 idle (first window) | $(field quiet1 '"%.1f / %.1f us" % (r["latency"]["p50_us"], r["latency"]["p99_us"])') |"
  echo "| active p50 / p99, $n idle (first window) | $(field loaded '"%.1f / %.1f us" % (r["latency"]["p50_us"], r["latency"]["p99_us"])') |"
  echo "| active p99 per window, 0 idle | ${quiet[*]} us (median $quiet_median) |"
  echo "| active p99 per window, $n idle | ${loaded[*]} us (median $loaded_median) |"
  echo "| p99 ratio (medians) | $(python3 -c "print('%.2fx' % ($loaded_median / $quiet_median))") |"
  sed -n 's/^idle server *\(.*\)/| server user space | \1 |/p; s/^idle kernel *\(.*\)/| kernel | \1 |/p; s/^idle workers *\(.*\)/| spread | \1 |/p' "$work/loaded.out"
  # How the peers ended: drained (closed their side within --shutdown-timeout)
  # or cut when it passed.
  local ended
  ended=$(grep -o 'drained [0-9]*, cut [0-9]*' "$work/server.err" | tail -n 1)
  echo "| graceful stop with $n held | ${stop_seconds} s (${ended:-no summary line}) |"
  echo
  grep -h "idle helper\|error" "$work/loaded.err" "$work/server.err" | sort | uniq -c | head -5 || true
}

echo "# gotit-reactor: $idle idle connections ($(date -u +%F), $(nproc) cores, $(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo) MiB available)"
echo
scenario "baseline, one process" "$baseline_idle" --workers 1
scenario "workers" "$idle" --workers auto --max-conns $(( idle + 1000 ))
