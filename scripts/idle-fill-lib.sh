# Sourced by the scripts that open very many idle loopback connections
# (bench-million.sh, bench-fill-arrangements.sh, bench-fill-wakeups.sh,
# bench-stop.sh): what
# they all check and set before a fill, and how they find a server's port.

# Refuses a fill of IDLE connections that MemAvailable cannot hold: about
# 10 KiB of kernel memory for the two ends and 1.1 KiB in the server each,
# plus 1 GiB for everything else.
require_memory_for() {  # SCRIPT-NAME IDLE
  local name=$1 idle=$2 available_kib needed_kib
  available_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
  needed_kib=$(( idle * 113 / 10 + 1024 * 1024 ))
  if (( available_kib < needed_kib )); then
    echo "$name: $idle connections need about $(( needed_kib / 1024 )) MiB" \
         "(~10 KiB kernel + 1.1 KiB server each, plus 1 GiB), MemAvailable is $(( available_kib / 1024 )) MiB" >&2
    exit 1
  fi
}

# A worker that is full closes its listener; with net.ipv4.tcp_migrate_req=1
# the kernel hands the connections waiting in its queues to another worker
# instead of resetting them (docs/architecture.md). Root only; the caller's
# exit trap calls restore_request_migration.
old_migrate=
enable_request_migration() {
  if [[ -w /proc/sys/net/ipv4/tcp_migrate_req ]]; then
    old_migrate=$(sysctl -n net.ipv4.tcp_migrate_req)
    sysctl -qw net.ipv4.tcp_migrate_req=1
  fi
}
restore_request_migration() {
  [[ -z $old_migrate ]] || sysctl -qw net.ipv4.tcp_migrate_req="$old_migrate"
}

# An exit trap: ends the processes given (by PID; an empty one is skipped),
# restores tcp_migrate_req, removes WORK. Every wait is `|| true`: a killed
# process's status is a failure, and under set -e a trap stops at a failing
# command, before the sysctl is put back.
end_run() {  # WORK [PID...]
  local work=$1 pid
  shift
  for pid in "$@"; do [[ -z $pid ]] || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do [[ -z $pid ]] || wait "$pid" 2>/dev/null || true; done
  restore_request_migration
  rm -rf "$work"
}

# Prints the port of a gotit-reactor started with --port 0 and its stdout in
# OUT (stderr in OUT.err), once it says "listening on"; exits if it never does.
port_of() {  # OUT
  for _ in $(seq 300); do grep -q listening "$1" && break; sleep 0.1; done
  sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$1" | grep . ||
    { echo "gotit-reactor printed no 'listening on':" >&2; cat "$1.err" >&2; exit 1; }
}
