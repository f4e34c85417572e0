#!/usr/bin/env bash
# gotit-reactor against memcached -t 1, side by side in one run: ping-pong
# with 50 connections at depth 1 and at depth 16, alternating the two servers
# ROUNDS times: the median requests/s of each with their ratio, and the
# server CPU time per request (when the bench saturates its core too, that
# is the fairer measure of the server).
# memcached answers `version\r\n` for about what `hello\n` costs gotit.
# Server pinned to CPU 0, gotit-bench to CPU 1 (this machine has 2 cores).
# Usage: scripts/bench-vs-memcached.sh [ROUNDS [SECONDS]]   (default 5 rounds of 3 s)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
seconds=${2:-3}
bench=build/gotit-bench
command -v memcached >/dev/null || { echo "memcached is not installed: apt-get install memcached" >&2; exit 1; }
[[ -x $bench ]] || { echo "build first: scripts/setup.sh" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

mc_port=$(free_port)
taskset -c 0 memcached -l 127.0.0.1 -p "$mc_port" -t 1 -U 0 -c 20000 -u root &
pids+=($!); mc_pid=$!
taskset -c 0 build/gotit-reactor --port 0 --bind 127.0.0.1 > "$work/reactor.out" 2>&1 &
pids+=($!); gotit_pid=$!
for _ in $(seq 50); do grep -q listening "$work/reactor.out" && break; sleep 0.1; done
gotit_port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/reactor.out")
if [[ -z $gotit_port ]]; then
  echo "bench-vs-memcached.sh: gotit-reactor did not print 'listening on' within 5 s:" >&2
  cat "$work/reactor.out" >&2
  exit 1
fi

measure() {  # name port pid depth round -> appends "name depth rps" to results
  local name=$1 port=$2 pid=$3 depth=$4 round=$5 extra=()
  [[ $name == memcached ]] && extra=(--request 'version\r\n' --reply-delim '\r\n')
  taskset -c 1 "$bench" run --port "$port" --conns 50 --depth "$depth" --duration "$seconds" --warmup 1 \
    --server-pid "$pid" --no-progress --json "$work/$name-$depth-$round.json" "${extra[@]}" > /dev/null
  python3 -c "import json,sys; r=json.load(open(sys.argv[3])); \
print(sys.argv[1], sys.argv[2], r['throughput_rps'], 1e6 * r['server_cpu_seconds'] / r['replies_in_window'])" \
    "$name" "$depth" "$work/$name-$depth-$round.json" >> "$work/results"
}

for round in $(seq "$rounds"); do
  for depth in 1 16; do
    measure memcached "$mc_port" "$mc_pid" "$depth" "$round"
    measure gotit-reactor "$gotit_port" "$gotit_pid" "$depth" "$round"
  done
done

python3 - "$work/results" "$rounds" "$seconds" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"50 connections, {sys.argv[2]} alternating rounds of {sys.argv[3]} s, medians")
print("requests/s: higher is better; the round-by-round ratio is gotit / memcached in the same round")
print(f"{'depth':>5}  {'memcached -t 1':>14}  {'gotit-reactor':>13}  {'ratio':>5}  round ratios")
cpu_lines = []
for depth in ("1", "16"):
    mc = [r for r in rows if r[0] == "memcached" and r[1] == depth]
    go = [r for r in rows if r[0] == "gotit-reactor" and r[1] == depth]
    m = statistics.median(float(r[2]) for r in mc)
    g = statistics.median(float(r[2]) for r in go)
    rounds = " ".join(f"{float(b[2]) / float(a[2]):.2f}" for a, b in zip(mc, go))
    print(f"{depth:>5}  {m:>14.0f}  {g:>13.0f}  {g / m:>4.2f}x  {rounds}")
    mc_cpu = statistics.median(float(r[3]) for r in mc)
    go_cpu = statistics.median(float(r[3]) for r in go)
    cpu_lines.append(f"{depth:>5}  {mc_cpu:>14.2f}  {go_cpu:>13.2f}  {mc_cpu / go_cpu:>4.2f}x")
print("server CPU per request (us): lower is better; ratio is memcached / gotit")
print(f"{'depth':>5}  {'memcached -t 1':>14}  {'gotit-reactor':>13}  {'ratio':>5}")
print("\n".join(cpu_lines))
PY
