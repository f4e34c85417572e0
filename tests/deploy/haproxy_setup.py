"""HAProxy for the deploy tests: a configuration made from deploy/haproxy.cfg
with loopback ports filled in, haproxy started in the foreground (-db) and
ended by its PID, and its stats socket read."""
import csv
import io
import os
import re
import shutil
import socket
import subprocess

from gotit_processes import skip, wait_for


def require_haproxy():
    haproxy = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None)
    if not haproxy:
        skip("haproxy is not installed (scripts/setup.sh installs it)")
    return haproxy


def substitute(text, pattern, replacement):
    """re.sub that insists on a match: a template that changed shape must
    break the test, not silently keep its production values."""
    new, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count > 0, f"deploy/haproxy.cfg has no line matching {pattern!r}"
    return new


def test_config(template, workdir, port, backends, interval="300ms"):
    """The template with: loopback ports, a stats socket and the log in
    `workdir`, no user switch, a smaller maxconn (this machine's file limit),
    and checks every `interval` instead of 2 s so the test takes seconds."""
    with open(template) as f:
        text = f.read()
    text = substitute(text, r"^(\s*)log /dev/log local0$", r"\1log stdout format raw local0")
    text = substitute(text, r"^(\s*)maxconn \d+$", r"\1maxconn 2000")
    text = substitute(text, r"^(\s*)stats socket \S+", rf"\1stats socket {workdir}/stats.sock")
    text = substitute(text, r"^\s*(user|group) haproxy\n", "")
    text = substitute(text, r"^(\s*)bind :\d+$", rf"\1bind 127.0.0.1:{port}")
    text = substitute(text, r" inter 2s", f" inter {interval}")
    text = substitute(text, r" agent-inter 2s", f" agent-inter {interval}")
    text = substitute(text, r"^(\s*)timeout check 2s$", r"\1timeout check 500ms")
    servers = "".join(f"    server {name} 127.0.0.1:{b.port} agent-port {b.agent_port}\n"
                      for name, b in backends.items())
    text = substitute(text, r"(^\s*server .*\n)+", servers)
    path = os.path.join(workdir, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


class HAProxy:
    def __init__(self, binary, config, workdir):
        self.socket_path = os.path.join(workdir, "stats.sock")
        self.log_path = os.path.join(workdir, "haproxy.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "-db", "-f", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(self.socket_path) or self.proc.poll() is not None, 10,
                 "haproxy's stats socket")
        assert self.proc.poll() is None, f"haproxy exited:\n{self.log_text()}"

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket_path)
            s.sendall(line.encode() + b"\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.decode()

    def servers(self):
        """{server name: its `show stat` row}, for the backend's servers."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {r["svname"]: r for r in rows if r["svname"] not in ("FRONTEND", "BACKEND")}

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
