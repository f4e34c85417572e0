#!/usr/bin/env bash
# gotit-reactor against memcached -t 1, side by side in one run: ping-pong
# with 50 connections at depth 1 and at depth 16, alternating the two servers
# ROUNDS times, and the median requests/s of each with their ratio.
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

measure() {  # name port pid depth round -> appends "name depth rps" to results
  local name=$1 port=$2 pid=$3 depth=$4 round=$5 extra=()
  [[ $name == memcached ]] && extra=(--request 'version\r\n' --reply-delim '\r\n')
  taskset -c 1 "$bench" run --port "$port" --conns 50 --depth "$depth" --duration "$seconds" --warmup 1 \
    --server-pid "$pid" --no-progress --json "$work/$name-$depth-$round.json" "${extra[@]}" > /dev/null
  python3 -c "import json,sys; print(sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))['throughput_rps'])" \
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
print(f"50 connections, {sys.argv[2]} alternating rounds of {sys.argv[3]} s, medians (requests/s)")
print(f"{'depth':>5}  {'memcached -t 1':>14}  {'gotit-reactor':>13}  ratio   (all runs: memcached | gotit)")
for depth in ("1", "16"):
    mc = [float(r[2]) for r in rows if r[0] == "memcached" and r[1] == depth]
    go = [float(r[2]) for r in rows if r[0] == "gotit-reactor" and r[1] == depth]
    m, g = statistics.median(mc), statistics.median(go)
    runs = " ".join(f"{x:.0f}" for x in mc) + " | " + " ".join(f"{x:.0f}" for x in go)
    print(f"{depth:>5}  {m:>14.0f}  {g:>13.0f}  {g / m:.2f}x  ({runs})")
PY
