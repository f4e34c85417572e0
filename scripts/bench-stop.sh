#!/usr/bin/env bash
# How a graceful stop of many idle connections ends: gotit-reactor --workers
# WORKERS holds IDLE connections opened by gotit-bench, gets SIGTERM, and
# this prints how long the stop took, how many peers were drained (closed
# their side within --shutdown-timeout) and cut (closed by the server when
# it passed), and the kernel's TCP counters over the stop (nstat deltas):
# TcpEstabResets counts open connections ended by a reset, and must be 0.
# Usage: scripts/bench-stop.sh [WORKERS [IDLE [SHUTDOWN_TIMEOUT]]]
#        (default 4 76000 10); run it alone (flock -x /tmp/gotit-cpu.lock ...).
# Sets net.ipv4.tcp_migrate_req=1 (root) for its run and restores it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/idle-fill-lib.sh
command -v nstat > /dev/null || { echo "bench-stop.sh: needs nstat (Debian: iproute2)" >&2; exit 1; }
workers=${1:-4} idle=${2:-76000} shutdown_timeout=${3:-10}
server_pid= bench_pid= work=$(mktemp -d)
trap 'end_run "$work" "$bench_pid" "$server_pid"' EXIT
require_memory_for bench-stop.sh "$idle"
# TIME_WAIT left by an earlier run would fill the kernel's table
# (net.ipv4.tcp_max_tw_buckets) and change what this stop does: wait it out.
for _ in $(seq 90); do
  (( $(ss -s | sed -n 's/.*timewait \([0-9]*\).*/\1/p') < 1000 )) && break
  sleep 1
done
enable_request_migration

build/gotit-reactor --port 0 --bind 127.0.0.1 --workers "$workers" --max-conns $(( idle + 1000 )) \
  --shutdown-timeout "$shutdown_timeout" > "$work/server" 2> "$work/server.err" &
server_pid=$!
port=$(port_of "$work/server")
# The pool's holder sends once a second on its one active connection, so it
# adds no load; it reads its connections' EOF and closes them during the stop.
build/gotit-bench run --port "$port" --idle "$idle" --conns 1 --rate 1 --duration 900 --warmup 0 \
  --connect-timeout 20 > "$work/bench" 2> "$work/bench.err" &
bench_pid=$!
for _ in $(seq 3000); do grep -q "$idle/$idle opened" "$work/bench.err" && break; sleep 0.1; done
grep -q "$idle/$idle opened" "$work/bench.err" ||
  { echo "bench-stop.sh: the pool did not open:" >&2; tail -3 "$work/bench.err" >&2; exit 1; }
sleep 2

nstat -n > /dev/null  # the deltas below count from here
start=$(date +%s.%N)
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
end=$(date +%s.%N)
server_pid=
sleep 2  # the peers' last segments
kill "$bench_pid"
wait "$bench_pid" 2> /dev/null || true
bench_pid=
counters=$(nstat | awk '/TcpEstabResets|TcpOutRsts|TCPAbortOn|TCPTimeWaitOverflow|TcpExtTW /' || true)

echo "gotit-reactor --workers $workers, $idle idle, --shutdown-timeout $shutdown_timeout ($(date -u +%F), $(nproc) cores)"
echo "stop took $(python3 -c "print('%.2f' % ($end - $start))") s, exit status $status;" \
     "$(grep -o 'drained [0-9]*, cut [0-9]*' "$work/server.err" | tail -n 1)"
echo "kernel counters over the stop (nstat; none listed is 0):"
echo "${counters:-  (none)}"
grep -q TcpEstabResets <<< "$counters" && { echo "bench-stop.sh: an open connection was reset" >&2; exit 1; }
exit 0
