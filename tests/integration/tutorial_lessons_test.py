"""The tutorial's mistakes that docs/study.md chapter 1 lists, each shown
against the real programs (loopback only, every wait bounded, every process
ended by its PID):

  restart     with SO_REUSEADDR a server restarts on its port at once,
              while the last run's connections sit in TIME_WAIT there
  backlog     a full accept queue drops new handshakes: with --backlog 1
              and a busy iterative server, connects stay unanswered (the
              kernel retries them after a second), with 4096 none does
  emfile      out of descriptors, gotit-blocking pauses its accepts instead
              of spinning, and serves the queued clients once some leave
  short-send  a reply batch larger than the socket buffers goes out in
              partial sends (seen with --trace), whole and in order

Usage: tutorial_lessons_test.py GOTIT_BLOCKING GOTIT_REACTOR
"""
import os
import re
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "deploy"))
from gotit_processes import ask, wait_for  # noqa: E402

BLOCKING, REACTOR = sys.argv[1], sys.argv[2]


class Server:
    """One server on 127.0.0.1; stderr kept in a file; killed by PID at close()."""

    def __init__(self, workdir, argv, limit_files=None):
        self.err_path = os.path.join(workdir, f"server-{time.monotonic_ns()}.stderr")
        self.err = open(self.err_path, "w")
        limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit_files, limit_files))) \
            if limit_files else None
        self.proc = subprocess.Popen(argv + ["--bind", "127.0.0.1"], stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, preexec_fn=limit)
        line = self.proc.stdout.readline()
        found = re.search(r"listening on .*:(\d+)$", line.strip())
        if not found:
            self.close()
            raise AssertionError(f"{argv}: no 'listening on' line; stderr:\n{self.stderr()}")
        self.port = int(found.group(1))

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=20)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.err.close()


def time_wait_on(port):
    """Sockets in TIME_WAIT whose local side is 127.0.0.1:port (/proc/net/tcp)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        return sum(1 for line in f.readlines()[1:]
                   if line.split()[1] == local and line.split()[3] == "06")


def restart(workdir, program, *args):
    first = Server(workdir, [program, "--port", "0", *args])
    port = first.port
    try:
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"hello\n")
        assert client.recv(64) == b"Got it!\n"
        # The server closes first (its FIN at the stop), so the TIME_WAIT is
        # on its side, on its port.
        first.proc.send_signal(signal.SIGTERM)
        assert client.recv(64) == b"", "the stop ends the connection with FIN"
        client.close()
        assert first.proc.wait(timeout=20) == 0
    finally:
        first.close()
    assert time_wait_on(port) >= 1, "no TIME_WAIT on the server's port: the test proves nothing"
    second = Server(workdir, [program, "--port", str(port), *args])
    try:
        assert second.port == port
        assert ask(port) == b"Got it!\n"
        assert second.stop() == 0
    finally:
        second.close()
    print(f"restart ok: {os.path.basename(program)} {' '.join(args)} rebound port {port} "
          f"over {time_wait_on(port)} TIME_WAIT socket(s)")


def connects_unanswered_after(port, count, seconds):
    """Starts `count` non-blocking connects; returns (sockets, how many had no
    answer to their SYN after `seconds`)."""
    sockets = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sockets.append(s)
    time.sleep(seconds)
    _, writable, _ = select.select([], sockets, [], 0)
    return sockets, count - len(writable)


def backlog(workdir, size):
    server = Server(workdir, [BLOCKING, "--model", "iterative", "--port", "0", "--backlog", str(size)])
    busy = None
    sockets = []
    try:
        busy = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        busy.sendall(b"hello\n")
        assert busy.recv(64) == b"Got it!\n"  # the server is now serving `busy` only
        sockets, unanswered = connects_unanswered_after(server.port, 8, 0.5)
        return unanswered
    finally:
        for s in sockets:
            s.close()
        if busy:
            busy.close()
        server.close()


def emfile(workdir):
    # 24 descriptors: the server's own few, then a thread per client.
    server = Server(workdir, [BLOCKING, "--model", "threads", "--port", "0"], limit_files=24)
    clients = []
    try:
        # One client served and gone first. Besides the lesson, UBSan needs
        # it: its vptr check on a finished thread's state probes memory
        # through a pipe the first time, which fails once descriptors are
        # out (a false "invalid vptr" that halts the sanitized server).
        assert ask(server.port) == b"Got it!\n"
        time.sleep(0.2)
        for _ in range(40):
            clients.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        wait_for(lambda: "Too many open files (pausing 100 ms)" in server.stderr(), 5,
                 "the accept pause in the log")
        before = server.cpu_seconds()
        time.sleep(1.0)
        used = server.cpu_seconds() - before
        # A spinning accept loop burns a whole core; pausing costs ten polls.
        assert used < 0.5, f"the server used {used:.2f} s of CPU in 1 s while out of descriptors"
        last = clients.pop()  # queued in the kernel, not accepted yet
        for c in clients[:30]:
            c.close()
        del clients[:30]
        last.settimeout(5)
        last.sendall(b"hello\n")
        assert last.recv(64) == b"Got it!\n", "a queued client is served once descriptors are free"
        last.close()
        pauses = server.stderr().count("pausing 100 ms")
        print(f"emfile ok: {pauses} pauses logged, {used:.2f} s CPU in 1 s while out of descriptors")
    finally:
        for c in clients:
            c.close()
        server.close()


def short_send(workdir, program, *args):
    server = Server(workdir, [program, "--port", "0", "--reply", "echo", "--trace", *args])
    try:
        line = b"x" * 254 + b"\n"
        lines = 24000  # 6 MB each way
        # A small receive buffer, fixed before connecting (no autotuning), so
        # the replies outgrow it and the server's send buffer (4 MB at most).
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        client.settimeout(10)
        client.connect(("127.0.0.1", server.port))
        sender = threading.Thread(target=client.sendall, args=(line * lines,))
        sender.start()

        def buffers_full():
            short = [m for m in re.finditer(r"send (\d+) of (\d+) bytes", server.stderr())
                     if int(m.group(1)) < int(m.group(2))]
            return short, server.stderr().count("send -1 EAGAIN")

        # Read nothing until the server's sends have met full buffers: the
        # replies (6 MB) outgrow what the two buffers hold (about 4 MB), so
        # this must happen. (A fixed sleep was too short for an ASan build.)
        wait_for(lambda: any(buffers_full()), 30, "a short send or EAGAIN in the server's trace")
        received = bytearray()
        deadline = time.monotonic() + 30
        while len(received) < len(line) * lines and time.monotonic() < deadline:
            chunk = client.recv(1 << 16)
            if not chunk:
                break
            received += chunk
        sender.join(timeout=30)
        client.close()
        assert bytes(received) == line * lines, f"{len(received)} bytes back, not whole and in order"
        short, waits = buffers_full()
        assert server.stop() == 0
        print(f"short-send ok: {os.path.basename(program)} {' '.join(args)}: {len(short)} partial "
              f"sends, {waits} EAGAIN, all {lines} replies whole and in order")
    finally:
        server.close()


def main():
    with tempfile.TemporaryDirectory() as workdir:
        restart(workdir, BLOCKING, "--model", "threads")
        restart(workdir, REACTOR)
        small, large = backlog(workdir, 1), backlog(workdir, 4096)
        print(f"backlog: 8 connects to a busy iterative server, unanswered after 0.5 s: "
              f"{small} with --backlog 1, {large} with --backlog 4096")
        assert small >= 4, "a full accept queue of 1 should leave most connects unanswered"
        assert large == 0, "with room in the queue every handshake completes at once"
        emfile(workdir)
        short_send(workdir, BLOCKING, "--model", "threads")
    print("ok")


if __name__ == "__main__":
    main()
