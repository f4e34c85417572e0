#!/usr/bin/env bash
# A full worker steps out of the port: fill 4 workers to 99.75% of
# --max-conns, 5 rounds with net.ipv4.tcp_migrate_req 0 and 5 with 1 (root;
# restored at the end). Prints, per round, what the clients saw (opened,
# held, errors), the spread over the workers, and how often a worker closed
# its listening socket. Usage: scripts/bench-full-worker.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
work=$(mktemp -d)
server_pid= old=$(sysctl -n net.ipv4.tcp_migrate_req)
cleanup() {
  # `|| true`: a killed process's status fails, and set -e would end the trap here.
  [[ -z $server_pid ]] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; }
  sysctl -qw net.ipv4.tcp_migrate_req="$old"
  rm -rf "$work"
}
trap cleanup EXIT
for migrate in 0 1; do
  sysctl -qw net.ipv4.tcp_migrate_req=$migrate
  for round in $(seq "$rounds"); do
    build/gotit-reactor --workers 4 --port 0 --bind 127.0.0.1 --max-conns 4000 > "$work/s.out" 2> "$work/s.err" &
    server_pid=$!
    for _ in $(seq 50); do grep -q listening "$work/s.out" && break; sleep 0.1; done
    port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/s.out")
    build/gotit-bench run --port "$port" --idle 3990 --duration 0.2 --warmup 0 --no-progress \
      --server-pid "$server_pid" --connect-timeout 3 > "$work/b.out" 2> "$work/b.err" || true
    kill "$server_pid"; wait "$server_pid" || true; server_pid=
    echo "tcp_migrate_req=$migrate round $round: $(grep -o '[0-9/]* opened in.*' "$work/b.out");" \
         "$(grep '^error' "$work/b.out" | tr -s ' ' | tr '\n' ' ');" \
         "$(grep -o 'sockets per worker.*' "$work/b.out");" \
         "server: $(grep -o 'rejected [0-9]*\|listener closes [0-9]*' "$work/s.err" | tail -2 | tr '\n' ' ')"
  done
done
