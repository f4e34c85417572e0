#!/usr/bin/env python3
"""Connection rate with TCP keepalive off and on: connect, one request, its
reply, close -- as many per second as one client loop manages -- against
gotit-reactor and gotit-blocking --model threads, each started here with
--tcp-keepalive 0 ("before": no keepalive) and with the default 300 ("after").
Rounds alternate off/on so drift hits both; prints the median of each.

Usage: scripts/bench-conn-rate.py [BUILD_DIR] [--rounds N] [--seconds S]
Run it under `flock -x /tmp/gotit-cpu.lock` on a shared machine."""
import argparse
import os
import signal
import socket
import statistics
import subprocess
import time

def start(binary, args):
    proc = subprocess.Popen([binary, "--port", "0", "--bind", "127.0.0.1", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if not line.startswith("listening on"):
        proc.kill()
        raise SystemExit(f"{binary}: no 'listening on' line")
    return proc, int(line.rsplit(":", 1)[1])

def rate(port, seconds):
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"hello\n")
            reply = b""
            while not reply.endswith(b"\n"):
                chunk = sock.recv(64)
                if not chunk:
                    raise SystemExit("server closed before replying")
                reply += chunk
            if reply != b"Got it!\n":
                raise SystemExit(f"wrong reply {reply!r}")
        done += 1
    return done / seconds

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("build", nargs="?", default="build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    opts = parser.parse_args()
    servers = {"reactor epoll": (os.path.join(opts.build, "gotit-reactor"), ["--backend", "epoll"]),
               "blocking threads": (os.path.join(opts.build, "gotit-blocking"), ["--model", "threads"])}
    for name, (binary, args) in servers.items():
        results = {"0": [], "300": []}
        for _ in range(opts.rounds):
            for keepalive in ("0", "300"):
                proc, port = start(binary, [*args, "--tcp-keepalive", keepalive])
                try:
                    results[keepalive].append(rate(port, opts.seconds))
                finally:
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=10)
        off, on = statistics.median(results["0"]), statistics.median(results["300"])
        print(f"{name}: keepalive off {off:.0f} conn/s, on (300) {on:.0f} conn/s, "
              f"change {100 * (on - off) / off:+.1f}% (medians of {opts.rounds} rounds of "
              f"{opts.seconds:g} s)")

if __name__ == "__main__":
    main()
