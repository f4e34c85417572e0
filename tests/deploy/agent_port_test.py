#!/usr/bin/env python3
"""gotit-reactor --agent-port and --stop-grace, through the binary:
'ready maxconn:N' while serving; after SIGTERM 'drain' at once while the
client port still accepts and answers for the grace; then the listener
closes, the agent keeps saying 'drain' until the last peer is flushed,
and the server exits 0.
With --workers N the master answers the agent for all of them (maxconn is
the sum, a worker's restart changes nothing) and forwards the stop.
Usage: agent_port_test.py GOTIT_REACTOR [--workers N]"""
import os
import re
import signal
import socket
import sys
import tempfile
import time

from gotit_processes import Reactor, read_line_and_close, wait_for


def main(reactor_binary, *extra):
    workers = "--workers" in extra
    with tempfile.TemporaryDirectory() as workdir:
        # --max-conns is a total: with 2 workers, 250 each, and the master sums them.
        server = Reactor(reactor_binary, workdir, "reactor", "--stop-grace", "2", "--max-conns", "500",
                         *extra)
        try:
            assert read_line_and_close(server.agent_port) == b"ready maxconn:500\n"
            if workers:
                check_restart(server)
            check(server)
            if workers:
                check_one_agent(server.stderr())
        finally:
            server.close()
    print(f"agent port{' ' + ' '.join(extra) if extra else ''}: ready, drain during the grace, "
          "exit 0: ok")


def worker_pids(log):
    return sorted({int(pid) for pid in re.findall(r"^worker \d+ \(pid (\d+)\)", log, re.M)})


def check_restart(server):
    """A worker killed and restarted: the master's agent says the same."""
    victim = worker_pids(server.stderr())[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: "restarting it" in server.stderr(), 5, "the master to restart the worker")
    wait_for(lambda: len(worker_pids(server.stderr())) == 3, 5, "the new worker to start")
    assert read_line_and_close(server.agent_port) == b"ready maxconn:500\n"


def check_one_agent(log):
    """Only the master answers the agent; no worker bound the port."""
    agents = re.findall(r"^.*agent port \d+ answers.*$", log, re.M)
    assert len(agents) == 1 and not agents[0].startswith("worker"), log


def check(server):
    # A client that stays connected across the stop: it is served to the end.
    held = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    held.sendall(b"before\n")
    assert held.recv(100) == b"Got it!\n"

    started = time.monotonic()
    server.signal(signal.SIGTERM)
    wait_for(lambda: read_line_and_close(server.agent_port) == b"drain\n", 1, "the agent to say drain")
    # Within the grace, new clients are still accepted and answered.
    during = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    during.sendall(b"during\n")
    assert during.recv(100) == b"Got it!\n"
    during.close()
    assert time.monotonic() - started < 2, "the checks above took longer than the grace"

    # After the grace the listener is closed; the held client is answered and closed in order.
    wait_for(lambda: refused(server.port), 4, "the listener to close after the grace")
    assert time.monotonic() - started >= 1.9, "the listener closed before the grace was over"
    assert held.recv(100) == b"", "the held client was not closed in order (FIN)"
    held.close()
    assert server.wait(10) == 0, server.stderr()
    log = server.stderr()
    assert "SIGTERM: draining; still accepting for 2 s" in log, log
    assert re.search(r"stop grace over: stopping", log), log


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True
    except TimeoutError:  # the stop drops new SYNs while it waits for first requests
        return False


if __name__ == "__main__":
    main(*sys.argv[1:])
