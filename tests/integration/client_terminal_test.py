"""gotit-client on a terminal, as a person uses it: the prompt, a reply, and
a server that stops while the client waits for the next line. The client
must say so at once and exit 5, not when the next line is typed (the
tutorial's client, blocked in fgets(), could not). A pseudo-terminal stands
for the person's terminal.

Usage: client_terminal_test.py GOTIT-CLIENT GOTIT-REACTOR
"""
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time

PROMPT = b"Please enter the message: "


def read_until(fd, text, timeout, seen=b""):
    """Reads the terminal until `text` appears; returns everything read."""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {text!r} within {timeout} s; the terminal shows {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the client has exited and closed the terminal
            chunk = b""
        if not chunk:
            raise AssertionError(f"the terminal closed before {text!r}; it showed {seen!r}")
        seen += chunk
    return seen


def main(client_binary, reactor_binary):
    server = subprocess.Popen([reactor_binary, "--bind", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    client_pid = None
    try:
        found = re.search(r"listening on .*:(\d+)$", server.stdout.readline().strip())
        assert found, "gotit-reactor printed no 'listening on' line"
        client_pid, terminal = pty.fork()
        if client_pid == 0:
            os.execv(client_binary, [client_binary, "127.0.0.1", found.group(1)])
        shown = read_until(terminal, PROMPT, 5)
        os.write(terminal, b"hello\n")
        shown = read_until(terminal, b"Got it!", 5, shown)
        shown = read_until(terminal, PROMPT, 5, shown.split(b"Got it!", 1)[1])

        stopped = time.monotonic()
        server.send_signal(signal.SIGTERM)
        # Half a line typed, not sent: the client must not wait for the rest.
        os.write(terminal, b"never sent")
        read_until(terminal, b"gotit-client: error: the server closed the connection", 3, shown)
        took = time.monotonic() - stopped
        _, status = os.waitpid(client_pid, 0)
        client_pid = None
        assert os.waitstatus_to_exitcode(status) == 5, f"exit status {status}"
        assert server.wait(timeout=10) == 0
        print(f"gotit-client on a terminal: reply shown, the server's stop reported after "
              f"{took:.2f} s, exit 5: ok")
    finally:
        if client_pid:
            os.kill(client_pid, signal.SIGKILL)
            os.waitpid(client_pid, 0)
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)


if __name__ == "__main__":
    main(*sys.argv[1:])
