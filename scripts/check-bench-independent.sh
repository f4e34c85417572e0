#!/usr/bin/env bash
# Checks gotit-bench's two rate measurements against counters it does not
# compute itself:
#   connection rate  the kernel's TcpPassiveOpens (nstat), sampled every
#                    second, and the server's own "accepted" total
#   open-loop rate   the server's --stats-interval messages/s while the
#                    bench offers one fixed rate, and its "messages" total
# Runs in a network namespace of its own when it can (unshare -n, root), so
# no other program's connections reach the kernel's counters; elsewhere it
# says so and the kernel's column counts the whole machine.
# Usage: scripts/check-bench-independent.sh [BUILD_DIR] [RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
rate="${2:-20000}"
seconds=5

if [[ -z "${GOTIT_IN_NETNS:-}" ]] && unshare -n true 2>/dev/null; then
  exec env GOTIT_IN_NETNS=1 unshare -n bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
[[ -n "${GOTIT_IN_NETNS:-}" ]] || echo "(no private network namespace: the kernel's counters include other programs)"

work=$(mktemp -d)
server_pid=""
sampler_pid=""
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

passive_opens() { nstat -az TcpPassiveOpens | awk '$1 == "TcpPassiveOpens" {print $2}'; }

start_server() {
  : >"$work/server.out"
  "$build/gotit-reactor" --port 0 --bind 127.0.0.1 --stats-interval 1 >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 100); do grep -q "listening on" "$work/server.out" && break; sleep 0.1; done
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n "$port" ]] || { echo "gotit-reactor did not start" >&2; cat "$work/server.err" >&2; exit 1; }
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
}

# What the bench counted: requests sent in all phases, and its rate in the
# window (from its --json FILE).
bench_figures() {
  python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["requests_sent"], round(r["throughput_rps"]))' "$1"
}

# The median of the numbers on stdin.
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "== connection rate: gotit-bench run --new-connection-per-request -c 8, ${seconds} s"
start_server
before=$(passive_opens)
# One sample a second of the kernel's counter while the bench runs.
( prev=$before; for _ in $(seq $(( seconds + 3 ))); do sleep 1; now=$(passive_opens); echo $(( now - prev )); prev=$now; done ) \
  >"$work/opens_per_s" &
sampler_pid=$!
"$build/gotit-bench" run -p "$port" --new-connection-per-request -c 8 --duration "$seconds" --warmup 1 \
  --no-progress --json "$work/churn.json" >"$work/churn.out"
wait "$sampler_pid" || true
sampler_pid=""
after=$(passive_opens)
stop_server
read -r bench_total bench_rate < <(bench_figures "$work/churn.json")
accepted=$(sed -n 's/^stopped: accepted \([0-9]*\),.*/\1/p' "$work/server.err")
# The busy seconds: drop the first (partial) and the samples after the run.
kernel_rate=$(sed -n "2,$(( seconds + 1 ))p" "$work/opens_per_s" | median)
printf '%-44s %12s\n' "connections the bench made (all phases)" "$bench_total" \
  "accepted, by the server's summary" "$accepted" \
  "TcpPassiveOpens, by the kernel" "$(( after - before ))" \
  "connections/s, the bench (window)" "$bench_rate" \
  "connections/s, the kernel (median second)" "$kernel_rate"

echo "== open-loop rate: gotit-bench run --rate $rate -c 8 -d 16, ${seconds} s"
start_server
"$build/gotit-bench" run -p "$port" --rate "$rate" -c 8 -d 16 --duration "$seconds" --warmup 1 \
  --no-progress --json "$work/open.json" >"$work/open.out"
stop_server
read -r bench_total bench_rate < <(bench_figures "$work/open.json")
messages=$(sed -n 's/^stopped: .* messages \([0-9]*\),.*/\1/p' "$work/server.err")
server_rate=$(sed -n 's/^stats: .* \([0-9]*\) messages\/s,.*/\1/p' "$work/server.err" | sed -n "2,$(( seconds + 1 ))p" | median)
printf '%-44s %12s\n' "requests the bench sent (all phases)" "$bench_total" \
  "messages, by the server's summary" "$messages" \
  "requests/s, the bench (window)" "$bench_rate" \
  "messages/s, the server (median second)" "$server_rate"
