#!/usr/bin/env bash
# Server CPU per connection under connection churn (connect, one request, its
# reply, close): gotit-reactor (default reader), gotit-reactor --reader
# bufferevent, and the raw-epoll floor (tests/support/raw_epoll_server.cpp).
# CPU time, not rate: gotit-bench --server-pid reads the server's utime+stime
# from /proc at the window's edges and divides by the connections completed.
# Rounds alternate the servers so drift on a shared machine hits all alike;
# prints the median us/connection of each and its ratio to raw epoll.
#
# Usage: scripts/bench-conn-cpu.sh [BUILD_DIR] [ROUNDS] [SECONDS]
#   BASELINE=PATH also measures another gotit-reactor binary (say, one built
#   from main before a change) as "baseline", in the same rounds.
#   PERF=1 also splits each server's CPU per connection by where it runs
#   (perf record on a separate short run, samples at 4999 Hz): the kernel,
#   the libc system-call wrappers, malloc/free, libevent, the rest (the
#   server's own code) -- the user-space part is what differs. Needs perf
#   (Debian: linux-perf) and permission to attach (root, or
#   kernel.perf_event_paranoid <= 1).
#   SYSCALLS=1 also counts each server's system calls per connection
#   (strace -c -f on a separate short run: strace slows the server, so its
#   CPU figures are not taken from that run).
# Run it under `flock -x /tmp/gotit-cpu.lock` on a shared machine.
set -euo pipefail

build=${1:-build}
rounds=${2:-5}
seconds=${3:-3}
bench="$build/gotit-bench"
load=(run --new-connection-per-request -c 8 --warmup 1 --duration "$seconds"
      --source-addrs 127.0.0.1-127.0.0.8 --no-progress)

declare -A command=(
  [reactor]="$build/gotit-reactor --port 0 --bind 127.0.0.1"
  [reactor-bufferevent]="$build/gotit-reactor --port 0 --bind 127.0.0.1 --reader bufferevent"
  [raw-epoll]="$build/tests/raw-epoll-server 0"
)
names=(reactor reactor-bufferevent raw-epoll)
if [[ -n ${BASELINE:-} ]]; then
  command[baseline]="$BASELINE --port 0 --bind 127.0.0.1"
  names=(baseline "${names[@]}")
fi
work=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts server $1, sets server_pid and port.
start_server() {
  # shellcheck disable=SC2086  # the command is words on purpose
  ${command[$1]} > "$work/out" 2> "$work/err" &
  server_pid=$!
  for _ in $(seq 100); do
    if grep -q '^listening on' "$work/out"; then
      port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$work/out" | head -1)
      return
    fi
    sleep 0.05
  done
  echo "$1: no 'listening on' line; stderr:" >&2
  cat "$work/err" >&2
  exit 1
}

stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

# One measured run against server $1: appends its us/connection to $work/$1.
measure() {
  start_server "$1"
  local report
  report=$("$bench" "${load[@]}" --port "$port" --server-pid "$server_pid")
  stop_server
  # "server CPU    1.23 s in the window (41% of a core), 20.50 us/connection"
  local us
  us=$(sed -n 's/^server CPU .*, \([0-9.]*\) us\/.*/\1/p' <<< "$report")
  if [[ -z $us ]]; then
    echo "$1: no 'server CPU' line in the report:" >&2
    echo "$report" >&2
    exit 1
  fi
  if ! grep -q '^errors *none$' <<< "$report"; then
    echo "$1: the run had errors:" >&2
    grep '^error' <<< "$report" >&2
    exit 1
  fi
  echo "$us" >> "$work/$1"
}

median() { sort -g "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# System calls per connection: the calls strace counts during a short run,
# divided by the connections the bench completed in it.
count_syscalls() {
  start_server "$1"
  strace -c -f -p "$server_pid" -o "$work/strace" 2> /dev/null &
  local strace_pid=$!
  sleep 0.5  # let strace attach
  local report
  report=$("$bench" run --new-connection-per-request -c 8 --warmup 0 --duration 1 \
           --source-addrs 127.0.0.1-127.0.0.8 --no-progress --port "$port" --timeout 30)
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  stop_server
  local conns calls
  # "replies       14717 sent, 14717 answered correctly, 0 missing": one a connection
  conns=$(sed -n 's/^replies .* \([0-9]*\) answered correctly.*/\1/p' <<< "$report")
  calls=$(awk '$NF == "total" {print $4}' "$work/strace")
  echo "$1: $(awk -v c="$calls" -v n="$conns" 'BEGIN {printf "%.2f", c / n}') system calls" \
       "per connection ($calls calls, $conns connections; strace -c -f)"
  grep -E '^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+' "$work/strace" | grep -v 'total$' | awk -v n="$conns" \
    '{printf "    %-14s %.2f\n", $NF, $4 / n}'
}

# Runs server $1 under the load for a short run with perf record attached,
# and prints its samples per connection, grouped, as microseconds.
split_by_perf() {
  start_server "$1"
  perf record -F 4999 -p "$server_pid" -o "$work/perf.data" > /dev/null 2>&1 &
  local perf_pid=$!
  sleep 0.5  # let perf attach
  local report conns
  report=$("$bench" run --new-connection-per-request -c 8 --warmup 0 --duration "$seconds" \
           --source-addrs 127.0.0.1-127.0.0.8 --no-progress --port "$port")
  kill -INT "$perf_pid"
  wait "$perf_pid" || true
  stop_server
  conns=$(sed -n 's/^replies .* \([0-9]*\) answered correctly.*/\1/p' <<< "$report")
  perf report -i "$work/perf.data" --no-children --sort dso,sym --stdio -F sample,dso,sym \
      2> /dev/null | grep -v '^#' | awk -v n="$conns" -v name="$1" '
    NF < 4 { next }
    $2 ~ /kernel/ { k += $1; next }
    $4 ~ /^(epoll_wait|epoll_ctl|accept4|__close|__send|__libc_recv|__readv|__ioctl|ioctl|readv)$/ { sc += $1; next }
    $4 ~ /malloc|free|calloc|^operator|memset|^_int_/ { m += $1; next }
    $2 ~ /libevent/ { ev += $1; next }
    { other += $1 }
    END { us = 1e6 / 4999 / n
          printf "  %-20s kernel %6.2f  syscall wrappers %5.2f  malloc/free %5.2f  libevent %5.2f  rest %5.2f  (user space %5.2f) us/connection\n",
                 name, k * us, sc * us, m * us, ev * us, other * us, (sc + m + ev + other) * us }'
}

for round in $(seq "$rounds"); do
  for name in "${names[@]}"; do measure "$name"; done
  echo "round $round: $(for name in "${names[@]}"; do printf '%s %s  ' "$name" "$(tail -1 "$work/$name")"; done)"
done

floor=$(median "$work/raw-epoll")
echo "median server CPU per connection over $rounds rounds of ${seconds} s (gotit-bench ${load[*]}):"
for name in "${names[@]}"; do
  m=$(median "$work/$name")
  printf '  %-20s %7.2f us/connection  %.2fx raw epoll\n' "$name" "$m" "$(awk -v a="$m" -v b="$floor" 'BEGIN {print a / b}')"
done

if [[ ${PERF:-0} == 1 ]]; then
  echo "CPU per connection by where it runs (perf record samples, one ${seconds} s run each):"
  for name in "${names[@]}"; do split_by_perf "$name"; done
fi

if [[ ${SYSCALLS:-0} == 1 ]]; then
  for name in "${names[@]}"; do count_syscalls "$name"; done
fi
