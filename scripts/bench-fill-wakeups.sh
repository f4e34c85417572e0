#!/usr/bin/env bash
# Why opening idle connections through one port is slower than opening them
# into as many separate servers: how often the servers wake up to accept.
# Fills IDLE idle loopback connections three ways, round by round:
#   workers         gotit-reactor --workers auto --max-conns MAX_CONNS (51
#                   workers for the default), filled by one gotit-bench;
#   separate        as many plain gotit-reactors as that has workers, each on
#                   its own port and filled by its own gotit-bench from two
#                   loopback addresses;
#   workers nice10  the first again, its processes at nice 10.
# Each line gives the time until every connection is open (TCP sockets in use,
# /proc/net/sockstat) and, over that time, the servers' accept4 calls and
# context switches (perf stat). Every wakeup to accept ends with one accept4
# that finds the queue empty, so calls beyond IDLE count the wakeups.
# Usage: scripts/bench-fill-wakeups.sh [IDLE [ROUNDS [MAX_CONNS]]]
# (default 300000 2 1001000). Needs perf (Debian: linux-perf) and root for
# its syscall tracepoints. Run it alone (flock -x /tmp/gotit-cpu.lock ...).
# It sets net.ipv4.tcp_migrate_req=1 for its run and restores it.
set -euo pipefail
cd "$(dirname "$0")/.."
idle=${1:-300000}
rounds=${2:-2}
max_conns=${3:-1001000}
work=$(mktemp -d)
servers=() benches=()
source scripts/idle-fill-lib.sh
stop_all() {
  local pid
  for pid in "${benches[@]}" "${servers[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${benches[@]}" "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  benches=() servers=()
}
trap 'stop_all; restore_request_migration; rm -rf "$work"' EXIT

command -v perf > /dev/null || { echo "bench-fill-wakeups.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
require_memory_for bench-fill-wakeups.sh "$idle"
enable_request_migration

start_server() {  # OUT NICENESS ARGS...: one gotit-reactor in the background
  local out=$1 niceness=$2; shift 2
  nice -n "$niceness" build/gotit-reactor --port 0 --bind 127.0.0.1 "$@" > "$out" 2> "$out.err" &
  servers+=($!)
}

fill() {  # PORT N [BENCH-ARGS...]: one bench in the background, holding until stopped
  local port=$1 n=$2; shift 2
  build/gotit-bench run --port "$port" --idle "$n" --conns 1 --rate 1 --duration 600 --warmup 0 \
    --no-progress --connect-timeout 20 "$@" > /dev/null 2>> "$work/bench.err" &
  benches+=($!)
}

# Counts the server processes (masters and their workers) from now until the
# fill is complete, then prints the line for LABEL.
measure() {  # LABEL START-FILLS-FUNCTION
  local label=$1 start=$2 pids counter t0 sockets before
  mapfile -t pids < <(for pid in "${servers[@]}"; do echo "$pid"; pgrep -P "$pid" || true; done)
  perf stat -x, -e syscalls:sys_enter_accept4,context-switches -p "$(IFS=,; echo "${pids[*]}")" -o "$work/perf" &
  counter=$!
  sleep 0.5
  before=$(tcp_sockets)
  t0=$(date +%s.%N)
  "$start"
  # Done when every socket is open, or 30 s after the last new one (a
  # connect that failed never comes); the time is that of the last new one.
  # A full worker closes its listener: one socket fewer per server process.
  local most=0 still=0 last=$t0 slack=${#pids[@]}
  for _ in $(seq 6000); do  # 10 minutes at most
    sockets=$(( $(tcp_sockets) - before ))
    if (( sockets > most )); then most=$sockets still=0 last=$(date +%s.%N); fi
    (( most >= 2 * idle - slack )) && break
    (( ++still < 300 )) || break
    sleep 0.1
  done
  local seconds
  seconds=$(echo "$last - $t0" | bc)
  kill -INT "$counter"; wait "$counter" || true
  python3 - "$work/perf" "$idle" "$label" "$seconds" "$most" "$slack" <<'PY'
import sys
path, idle, label, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
sockets, slack = int(sys.argv[5]), int(sys.argv[6])
counts = {}
for line in open(path):
    fields = line.strip().split(",")
    if len(fields) > 2 and fields[0].isdigit():
        counts[fields[2]] = int(fields[0])
accepts, switches = counts.get("syscalls:sys_enter_accept4", 0), counts.get("context-switches", 0)
wakeups = max(accepts - idle, 1)
done = "" if sockets >= 2 * idle - slack else f" (NOT all open: {sockets} TCP sockets of {2 * idle})"
print(f"{label}: open in {seconds:.1f} s{done}; servers: {accepts} accept4 calls, "
      f"{wakeups} wakeups ({idle / wakeups:.1f} accepts each), {switches} context switches")
PY
}

tcp_sockets() { awk '/^TCP:/ {print $3}' /proc/net/sockstat; }

# The previous arrangement's sockets may still be closing (orphans wait up to
# net.ipv4.tcp_fin_timeout, 60 s); one that closes during the next fill would
# be missed in its count. Wait (90 s at most) until a few strays are left.
wait_for_quiet() {
  for _ in $(seq 900); do (( $(tcp_sockets) < 100 )) && return; sleep 0.1; done
  echo "bench-fill-wakeups.sh: still $(tcp_sockets) TCP sockets in use; going on" >&2
}

workers_port=
start_workers_fill() { fill "$workers_port" "$idle"; }
separate_ports=()
start_separate_fills() {
  local k=${#separate_ports[@]} i
  for i in $(seq 0 $(( k - 1 ))); do
    fill "${separate_ports[$i]}" $(( idle / k + (i < idle % k ? 1 : 0) )) \
      --source-addrs "127.0.0.$(( 2 * i + 1 ))-127.0.0.$(( 2 * i + 2 ))"
  done
}

echo "# opening $idle idle connections: workers, separate servers, workers at nice 10;" \
     "$rounds rounds ($(date -u '+%F %H:%M'), $(nproc) cores)"
wait_for_quiet
for round in $(seq "$rounds"); do
  for arrangement in workers separate nice10; do
    case $arrangement in
      workers|nice10)
        niceness=0; [[ $arrangement == nice10 ]] && niceness=10
        start_server "$work/s.out" "$niceness" --workers auto --max-conns "$max_conns"
        workers_port=$(port_of "$work/s.out")
        sleep 2  # every worker listening
        count=$(pgrep -c -P "${servers[0]}")  # the separate arrangement, next, starts as many
        label="round $round, $count workers (one port)"
        [[ $arrangement == nice10 ]] && label+=", nice 10"
        measure "$label" start_workers_fill ;;
      separate)
        separate_ports=()
        for i in $(seq 0 $(( count - 1 ))); do
          start_server "$work/s$i.out" 0 --max-conns $(( idle / count + 100 ))
        done
        for i in $(seq 0 $(( count - 1 ))); do separate_ports+=("$(port_of "$work/s$i.out")"); done
        measure "round $round, $count plain servers ($count ports)" start_separate_fills ;;
    esac
    stop_all
    # The benches' own messages: a failed connect says why here.
    if grep -v '^idle: [0-9]* connections from' "$work/bench.err" > "$work/messages"; then
      echo "  $(wc -l < "$work/messages") messages from the benches, the first: $(head -n 1 "$work/messages")"
    fi
    : > "$work/bench.err"
    wait_for_quiet
  done
done
