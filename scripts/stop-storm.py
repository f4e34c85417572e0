#!/usr/bin/env python3
"""How clients connecting while a server stops see its end.

Usage: scripts/stop-storm.py [--clients N] [--before SECONDS] SERVER [ARG...]

Starts SERVER ARG... --port 0 (it must print "listening on ADDRESS:PORT" on
stdout), has N clients (default 16) connect to 127.0.0.1 over and over, each
sending one request and reading its reply, sends the server SIGTERM after
--before seconds (default 0.3), and stops each client at its first refused
connect (or 2 s after the start). Prints how the connections ended:

  answered  the reply arrived whole ("Got it!")
  refused   the listener was closed: the connect failed
  reset     connected, then reset before the reply
  eof       connected, then an orderly close with no reply: the request
            reached the server after its stop had answered what had arrived

A graceful stop resets nothing: see "The stop" in docs/architecture.md.
"""
import argparse
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter

REPLY = b"Got it!\n"
CLIENT_SECONDS = 2.0
REPLY_TIMEOUT = 12.0  # longer than the servers' default --shutdown-timeout


def start_server(command):
    server = subprocess.Popen(command + ["--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        found = re.search(r"listening on .*:(\d+)", line)
        if found:
            return server, int(found.group(1))
    server.wait()
    raise SystemExit(f"{command[0]} exited ({server.returncode}) without saying its port")


def one_connection(port):
    with socket.socket() as client:
        client.settimeout(REPLY_TIMEOUT)
        try:
            client.connect(("127.0.0.1", port))
            client.sendall(b"x\n")
            data = b""
            while len(data) < len(REPLY):
                chunk = client.recv(100)
                if not chunk:
                    break
                data += chunk
        except ConnectionRefusedError:
            return "refused"
        except ConnectionResetError:
            return "reset"
        except OSError as error:
            return "error: " + type(error).__name__
    if data == REPLY:
        return "answered"
    return "eof" if not data else f"other: {data!r}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16, metavar="N")
    parser.add_argument("--before", type=float, default=0.3, metavar="SECONDS")
    parser.add_argument("server", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if not args.server:
        parser.error("give the server's command line")
    server, port = start_server(args.server)
    outcomes = Counter()
    lock = threading.Lock()

    def client():
        deadline = time.monotonic() + CLIENT_SECONDS
        while time.monotonic() < deadline:
            outcome = one_connection(port)
            with lock:
                outcomes[outcome] += 1
            if outcome == "refused":
                return

    clients = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in clients:
        thread.start()
    time.sleep(args.before)
    server.send_signal(signal.SIGTERM)
    for thread in clients:
        thread.join()
    try:
        status = server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        status = "killed after 30 s"
    usual = ["answered", "refused", "reset", "eof"]
    names = usual + sorted(set(outcomes) - set(usual))
    print(", ".join(f"{name} {outcomes[name]}" for name in names) + f"; server exit {status}")


if __name__ == "__main__":
    main()
