#!/usr/bin/env python3
"""Does gotit-reactor stay inside the unit's SystemCallFilter=@system-service?
Runs build/gotit-reactor under `strace -f -c` through a start, an agent
check, a short gotit-bench load, SIGUSR1 and a graceful stop with
--stop-grace, then checks every system call it made against the group as
`systemd-analyze syscall-filter` expands it. Needs strace and systemd-analyze.
Usage: scripts/check-syscall-filter.py [OPTION...]   (more gotit-reactor
options, e.g. --workers 2 as the unit runs it)"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build")


def group_members(group, seen):
    """The system calls of a systemd filter group, nested groups expanded."""
    lines = subprocess.run(["systemd-analyze", "syscall-filter", group], capture_output=True,
                           text=True, check=True).stdout.splitlines()[1:]
    names = set()
    for word in (line.strip() for line in lines):
        if not word or word.startswith("#"):
            continue
        if word.startswith("@"):
            if word not in seen:
                seen.add(word)
                names |= group_members(word, seen)
        else:
            names.add(word)
    return names


def exercise(summary_path, log_path, extra):
    """Runs the reactor under strace; returns the system calls it made."""
    with open(log_path, "w") as log:
        tracer = subprocess.Popen(
            ["strace", "-f", "-qq", "-c", "-o", summary_path, os.path.join(BUILD, "gotit-reactor"),
             "--bind", "127.0.0.1", "--port", "0", "--agent-port", "0", "--stop-grace", "1",
             *extra],
            stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        port = re.search(r":(\d+)$", tracer.stdout.readline().strip()).group(1)
        time.sleep(0.3)
        with open(log_path) as f:
            agent_port = int(re.search(r"agent port (\d+)", f.read()).group(1))
        with socket.create_connection(("127.0.0.1", agent_port), timeout=3) as s:
            assert s.recv(100).startswith(b"ready")
        subprocess.run([os.path.join(BUILD, "gotit-bench"), "run", "--port", port, "--conns", "4",
                        "--duration", "0.5", "--warmup", "0.1", "--no-progress"],
                       check=True, stdout=subprocess.DEVNULL)
        reactor = int(subprocess.run(["ps", "-o", "pid=", "--ppid", str(tracer.pid)],
                                     capture_output=True, text=True).stdout.split()[0])
        os.kill(reactor, signal.SIGUSR1)
        time.sleep(0.2)
        os.kill(reactor, signal.SIGTERM)
        assert tracer.wait(timeout=15) == 0, "gotit-reactor did not stop cleanly"
    finally:
        if tracer.poll() is None:
            tracer.kill()
            tracer.wait(timeout=10)
    with open(summary_path) as f:
        rows = [line.split() for line in f.read().splitlines()[2:]]
    return {row[-1] for row in rows if row and not row[0].startswith("-") and row[-1] != "total"}


def main():
    with tempfile.TemporaryDirectory() as workdir:
        used = exercise(os.path.join(workdir, "strace.txt"), os.path.join(workdir, "reactor.log"),
                        sys.argv[1:])
    allowed = group_members("@system-service", set())
    outside = sorted(used - allowed)
    print(f"gotit-reactor made {len(used)} distinct system calls; "
          f"outside @system-service ({len(allowed)} calls): {outside or 'none'}")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
