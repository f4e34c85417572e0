"""Helpers for the deploy tests: start gotit-reactor and haproxy on loopback,
read the ports they chose, end every process by its PID. Every wait is
bounded in time."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

SKIP = 77  # meson's "skipped" exit code


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def wait_for(condition, timeout, what):
    """Polls condition() until it returns something true; fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def free_port():
    """A port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_line_and_close(port, send=b"", timeout=3.0):
    """Connects, sends `send`, reads until the peer closes; returns the bytes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if send:
            s.sendall(send)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                return data
            data += chunk


def ask(port, line=b"hello\n", timeout=3.0):
    """One request on a new connection; returns the reply line."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


class Reactor:
    """A gotit-reactor on 127.0.0.1 with --port 0 and --agent-port 0; stderr
    goes to a file in `workdir`. Killed by PID if still running at close()."""

    def __init__(self, binary, workdir, name, *extra):
        self.name = name
        self.err_path = os.path.join(workdir, name + ".stderr")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", "0", "--agent-port", "0", *extra],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = self.proc.stdout.readline()  # blocks until the line or EOF
        found = re.search(r"listening on .*:(\d+)$", line.strip())
        if not found:
            raise AssertionError(f"{name}: no 'listening on' line; stderr:\n{self.stderr()}")
        self.port = int(found.group(1))
        self.agent_port = int(wait_for(
            lambda: (re.search(r"agent port (\d+)", self.stderr()) or [None, None])[1], 5,
            f"{name}'s agent port"))

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def signal(self, signum):
        self.proc.send_signal(signum)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.err.close()
