#!/usr/bin/env bash
# System calls per request of each gotit-reactor reader (--reader bufferevent
# and direct): a fresh server per reader, strace -c -f attached to it, 50
# connections x 1 request in flight from gotit-bench for SECONDS, then the
# server's system calls (all of them: recv, send, epoll_wait, ioctl, readv...)
# divided by the requests answered. strace slows the server a lot; the count
# per request is what it is for, not the speed.
# Usage: flock -x /tmp/gotit-cpu.lock scripts/syscalls.sh [SECONDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-3}
work=$(mktemp -d)
server_pid=
strace_pid=
cleanup() {
  [[ -n $strace_pid ]] && kill "$strace_pid" 2>/dev/null
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

one_reader() {  # reader
  local reader=$1
  : > "$work/server.out"  # now, not when the background child gets to it (see study.sh)
  build/gotit-reactor --port 0 --bind 127.0.0.1 --reader "$reader" > "$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/server.out" && break; sleep 0.1; done
  local port
  port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$work/server.out")
  if [[ -z $port ]]; then
    echo "syscalls.sh: gotit-reactor --reader $reader did not print 'listening on' within 5 s:" >&2
    cat "$work/server.out" >&2
    exit 1
  fi
  local in_effect
  in_effect=$(sed -n 's/.*reader \([a-z]*\).*/\1/p' "$work/server.out" | head -1)
  strace -c -f -p "$server_pid" -o "$work/strace.txt" 2> "$work/strace.err" &
  strace_pid=$!
  sleep 0.5  # strace attaches
  build/gotit-bench run --port "$port" --conns 50 --depth 1 --duration "$seconds" --warmup 0 \
    --no-progress --json "$work/r.json" > /dev/null
  kill -INT "$strace_pid"
  wait "$strace_pid" || true
  strace_pid=
  kill "$server_pid"
  wait "$server_pid" || true
  server_pid=
  # The requests the server answered: its own count, from its summary line.
  local messages
  messages=$(sed -n 's/.*messages \([0-9]*\), bytes in.*/\1/p' "$work/server.out" | tail -1)
  python3 - "$work/strace.txt" "$reader" "$in_effect" "$messages" <<'PY'
import sys
path, reader, in_effect, messages = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
calls = {}
for line in open(path):
    f = line.split()
    # "% time seconds usecs/call calls [errors] syscall"
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls[f[-1]] = int(f[3])
total = sum(calls.values())
top = sorted(calls.items(), key=lambda kv: -kv[1])[:5]
detail = ", ".join(f"{name} {n / messages:.2f}" for name, n in top)
print(f"| {reader} | {in_effect} | {messages:,} | {total:,} | {total / messages:.2f} | {detail} |")
PY
}

echo "| --reader | in effect | requests | system calls | per request | most frequent, per request |"
echo "|---|---|---:|---:|---:|---|"
for reader in bufferevent direct; do one_reader "$reader"; done
