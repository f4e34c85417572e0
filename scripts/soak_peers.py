#!/usr/bin/env python3
"""The soak's bad (and some good) peers, for scripts/soak.sh: for SECONDS,
in turn, against 127.0.0.1:PORT --
  churn      connect, "hello\\n", expect "Got it!\\n", close      (checked)
  oversized  a 300-byte line: expect the error line, then EOF      (checked)
  reset      half a request, then a reset (SO_LINGER 0)
  never-read every 5 s a peer that pipelines until the server stops
             reading it and never reads a reply; each is held 40 s (past the
             reactor's 10 s write timeout), at most 8 at once
Prints one line of counts; exits 1 if a checked peer got a wrong answer.
Usage: soak_peers.py PORT SECONDS"""
import socket
import struct
import sys
import time

def exchange(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"hello\n")
        reply = b""
        while len(reply) < 8:
            chunk = sock.recv(64)
            if not chunk:
                break
            reply += chunk
        return reply == b"Got it!\n"

def oversized(port):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"x" * 300 + b"\n")
        reply = b""
        while True:
            chunk = sock.recv(128)
            if not chunk:
                return reply == b"Error: message longer than 255 bytes\n"
            reply += chunk

def reset(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"half a requ")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

def never_reader(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # until the server (and TCP) takes no more
        try:
            sock.send(b"x\n" * 4096)
        except BlockingIOError:
            time.sleep(0.05)
        except OSError:
            break
    return sock

def main():
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    counts = {"churn": 0, "oversized": 0, "reset": 0, "never-read": 0}
    errors = []
    held = []  # (opened at, socket)
    next_never_reader = time.monotonic()
    end = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_never_reader and len(held) < 8:
            held.append((now, never_reader(port)))
            counts["never-read"] += 1
            next_never_reader = now + 5
        while held and now - held[0][0] > 40:
            held.pop(0)[1].close()
        kind = ("churn", "churn", "churn", "oversized", "reset")[turn % 5]
        turn += 1
        try:
            if kind == "churn" and not exchange(port):
                errors.append("churn: wrong reply")
            elif kind == "oversized" and not oversized(port):
                errors.append("oversized: wrong reply")
            elif kind == "reset":
                reset(port)
        except OSError as error:
            errors.append(f"{kind}: {error}")
        counts[kind] += 1
        time.sleep(0.002)
    for _, sock in held:
        sock.close()
    print("peers: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f", errors {len(errors)}")
    for error in errors[:10]:
        print("  " + error)
    sys.exit(1 if errors else 0)

if __name__ == "__main__":
    main()
