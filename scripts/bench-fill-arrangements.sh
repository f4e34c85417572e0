#!/usr/bin/env bash
# How long opening IDLE idle loopback connections takes, two ways, alternating
# round by round on the same machine:
#   workers   one gotit-reactor --workers auto on one port, filled by one
#             gotit-bench run --idle IDLE (its helper processes, 127.0.0.1-N);
#   separate  K = ceil(IDLE / 19,231) plain gotit-reactors on K ports, each
#             filled by its own gotit-bench from two loopback addresses (the
#             arrangement issue 9 measured as its reference).
# Time to open: for workers the bench's own "opened in"; for separate the
# latest (launch offset + "opened in") over the K benches, all launched at once.
# Every connection is held until all are open (HOLD seconds), then the benches
# exit. Usage: scripts/bench-fill-arrangements.sh [IDLE [ROUNDS]]  (default
# 1000000 2). Run it alone (flock -x /tmp/gotit-cpu.lock ...); it sets
# net.ipv4.tcp_migrate_req=1 (root) for its run and restores it.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-1000000}
rounds=${2:-2}
hold=${HOLD:-75}
per_process=19231
work=$(mktemp -d)
pids=()
source scripts/idle-fill-lib.sh
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_all
  restore_request_migration
  rm -rf "$work"
}
trap cleanup EXIT

require_memory_for bench-fill-arrangements.sh "$idle"
enable_request_migration

start_server() {  # OUT ARGS...: starts gotit-reactor, waits for its port, prints it
  local out=$1; shift
  : > "$out"
  build/gotit-reactor --port 0 --bind 127.0.0.1 "$@" > "$out" 2> "$out.err" &
  pids+=($!)
}

fill() {  # I PORT N [BENCH-ARGS...]: one bench in the background, its launch time in $work/t.I
  local i=$1 port=$2 n=$3; shift 3
  date +%s.%N > "$work/t.$i"
  # --rate 1: a bench that is done opening must not load the machine while
  # the others are still opening.
  build/gotit-bench run --port "$port" --idle "$n" --conns 1 --rate 1 --duration "$hold" --warmup 0 \
    --no-progress --connect-timeout 20 "$@" > "$work/b.$i" 2> "$work/b.$i.err" &
  pids+=($!)
}

report() {  # LABEL K T0: prints one line; waits for the K benches
  local label=$1 k=$2 t0=$3 pid
  for pid in "${pids[@]:${#pids[@]}-k}"; do wait "$pid" || true; done
  python3 - "$work" "$k" "$t0" "$label" <<'PY'
import re, sys
work, k, t0, label = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ends, opened, errors = [], 0, 0
for i in range(k):
    out = open(f"{work}/b.{i}").read()
    m = re.search(r"idle +(\d+)/(\d+) opened in ([\d.]+) s", out)
    if not m:
        print(f"{label}: bench {i} printed no idle line:", open(f"{work}/b.{i}.err").read()[-300:])
        sys.exit(1)
    opened += int(m.group(1))
    ends.append(float(open(f"{work}/t.{i}").read()) - t0 + float(m.group(3)))
    errors += sum(int(x) for x in re.findall(r"x(\d+)", "".join(re.findall(r"^error.*$", out, re.M))))
print(f"{label}: {opened} opened in {max(ends):.2f} s by {k} bench process(es), {errors} errors")
PY
}

echo "# opening $idle idle connections: two arrangements, $rounds rounds ($(date -u '+%F %H:%M'), $(nproc) cores)"
for round in $(seq "$rounds"); do
  start_server "$work/s.out" --workers auto --max-conns $(( idle + 1000 ))
  port=$(port_of "$work/s.out")
  sleep 1
  t0=$(date +%s.%N)
  fill 0 "$port" "$idle"
  report "round $round, workers (one port)" 1 "$t0"
  stop_all; sleep 5

  k=$(( (idle + per_process - 1) / per_process )); each=$(( idle / k ))
  for i in $(seq 0 $(( k - 1 ))); do start_server "$work/s$i.out" --max-conns $(( each + 100 )); done
  ports=()
  for i in $(seq 0 $(( k - 1 ))); do ports+=("$(port_of "$work/s$i.out")"); done
  sleep 1
  t0=$(date +%s.%N)
  for i in $(seq 0 $(( k - 1 ))); do
    fill "$i" "${ports[$i]}" "$each" --source-addrs "127.0.0.$(( 2 * i + 1 ))-127.0.0.$(( 2 * i + 2 ))"
  done
  report "round $round, separate ($k ports)" "$k" "$t0"
  stop_all; sleep 5
done
