#!/usr/bin/env python3
"""gotit-reactor --agent-port and --stop-grace, through the binary:
'ready maxconn:N' while serving; after SIGTERM 'drain' at once while the
client port still accepts and answers for the grace; then the listener
closes, the agent keeps saying 'drain' until the last peer is flushed,
and the server exits 0.
Usage: agent_port_test.py GOTIT_REACTOR"""
import re
import signal
import socket
import sys
import tempfile
import time

from gotit_processes import Reactor, read_line_and_close, wait_for


def main(reactor_binary):
    with tempfile.TemporaryDirectory() as workdir:
        server = Reactor(reactor_binary, workdir, "reactor", "--stop-grace", "2", "--max-conns", "500")
        try:
            check(server)
        finally:
            server.close()
    print("agent port: ready, drain during the grace, exit 0: ok")


def check(server):
    assert read_line_and_close(server.agent_port) == b"ready maxconn:500\n"
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


if __name__ == "__main__":
    main(sys.argv[1])
