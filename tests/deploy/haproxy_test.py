#!/usr/bin/env python3
"""Three gotit-reactor backends behind HAProxy (deploy/haproxy.cfg with
loopback ports), on loopback only:

1. gotit-bench through HAProxy gets every reply right, from all three.
2. Rolling stop: while gotit-bench runs through HAProxy, SIGTERM gotit2
   (--workers 2 --stop-grace): the master's agent says drain, HAProxy sends it no new connection,
   its clients are closed in order (no reset, no torn reply), it exits 0,
   and the bench's errors are only the connections gotit2 closed.
3. A backend that stops answering (SIGSTOP) is marked down by the tcp-check
   and new clients go to the one left.

Usage: haproxy_test.py GOTIT_REACTOR GOTIT_BENCH deploy/haproxy.cfg
Skips (exit 77) where haproxy is not installed."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from gotit_processes import Reactor, ask, free_port, wait_for
from haproxy_setup import HAProxy, require_haproxy, test_config

DEPTH = 4
GRACE_S = 2
# The backend of the rolling stop runs as the unit does: a master that
# answers the agent, and workers. (Not gotit3: SIGSTOP stops a master alone.)
WORKERS = {"gotit2": ("--workers", "2")}


def main(reactor_binary, bench_binary, template):
    haproxy_binary = require_haproxy()
    with tempfile.TemporaryDirectory() as workdir:
        backends, proxy = {}, None
        try:
            for name in ("gotit1", "gotit2", "gotit3"):
                backends[name] = Reactor(reactor_binary, workdir, name, "--stop-grace", str(GRACE_S),
                                         *WORKERS.get(name, ()))
            port = free_port()
            proxy = HAProxy(haproxy_binary, test_config(template, workdir, port, backends), workdir)
            wait_for(lambda: all(s["status"] == "UP" for s in proxy.servers().values()), 10,
                     "all three backends UP")
            bench = Bench(bench_binary, port, workdir)
            every_reply_right(proxy, bench)
            resets = rolling_stop(proxy, bench, backends["gotit2"], port)
            stopped_backend_marked_down(proxy, bench, backends["gotit3"])
            # A graceful stop never resets: HAProxy would log such a session as "SD".
            assert not resets, f"{len(resets)} of gotit2's sessions ended by a server reset"
        except BaseException:
            if proxy:
                print("--- haproxy log ---\n" + proxy.log_text()[-4000:])
            for b in backends.values():
                print(f"--- {b.name} stderr ---\n" + b.stderr()[-2000:])
            raise
        finally:
            if proxy:
                proxy.close()
            for b in backends.values():
                b.close()


class Bench:
    """gotit-bench run through HAProxy; its JSON result."""

    def __init__(self, binary, port, workdir):
        self.binary, self.port, self.workdir = binary, port, workdir

    def start(self, conns, duration, name):
        json_path = os.path.join(self.workdir, name + ".json")
        proc = subprocess.Popen(
            [self.binary, "run", "--port", str(self.port), "--conns", str(conns), "--depth", str(DEPTH),
             "--duration", str(duration), "--warmup", "0.3", "--timeout", "3", "--no-progress",
             "--json", json_path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return proc, json_path

    @staticmethod
    def finish(started):
        proc, json_path = started
        out, _ = proc.communicate(timeout=60)
        with open(json_path) as f:
            return proc.returncode, json.load(f), out

    def run(self, conns, duration, name):
        return self.finish(self.start(conns, duration, name))


def every_reply_right(proxy, bench):
    before = {n: int(s["stot"]) for n, s in proxy.servers().items()}
    code, result, out = bench.run(30, 1.5, "all-three")
    assert code == 0 and result["missing_replies"] == 0 and not result["errors"], out
    after = {n: int(s["stot"]) for n, s in proxy.servers().items()}
    assert all(after[n] > before[n] for n in after), f"leastconn left a backend out: {after}"
    print(f"1. through haproxy: {result['replies']} replies, all right, "
          f"connections per backend {dict((n, after[n] - before[n]) for n in after)}: ok")


def rolling_stop(proxy, bench, victim, port):
    started = bench.start(12, 4, "rolling")
    time.sleep(1.3)  # the load is in its measured window
    held = int(proxy.servers()[victim.name]["scur"])
    log_before = len(proxy.log_text())
    victim.signal(signal.SIGTERM)
    wait_for(lambda: proxy.servers()[victim.name]["status"].startswith("DRAIN"), GRACE_S,
             f"haproxy to see {victim.name}'s agent say drain")
    sessions_at_drain = int(proxy.servers()[victim.name]["stot"])
    # New clients while the victim drains (its listener is still open for
    # the grace): all answered, none sent to the victim.
    fresh = [ask(port) for _ in range(9)]
    assert fresh == [b"Got it!\n"] * 9, fresh
    code = victim.wait(15)
    code_bench, result, out = Bench.finish(started)
    sessions_after = int(proxy.servers()[victim.name]["stot"])

    assert code == 0, f"{victim.name} exited {code}"
    assert sessions_after == sessions_at_drain, \
        f"haproxy sent {sessions_after - sessions_at_drain} new connections to a draining backend"
    errors = {kind: e["count"] for kind, e in result["errors"].items()}
    assert set(errors) <= {"closed_by_server"}, f"errors other than orderly closes: {errors}\n{out}"
    closed = errors.get("closed_by_server", 0)
    assert closed <= held, f"{closed} connections closed, but {victim.name} held {held}\n{out}"
    # A request still on its way when the server sent FIN was never read:
    # at most DEPTH per closed connection go unanswered.
    assert result["missing_replies"] <= DEPTH * closed, out
    assert result["replies_in_window"] > 0, out
    # Orderly: HAProxy's log ends each of the victim's sessions without a
    # server-side abort ("SD": the server reset the connection).
    ended = lambda: re.findall(rf" gotit/{victim.name} \S+ \d+ (\S\S) ",  # noqa: E731
                               proxy.log_text()[log_before:])
    ends = wait_for(lambda: len(ended()) >= held and ended(), 5,
                    f"haproxy's log of the {held} sessions {victim.name} held")
    resets = [e for e in ends if e[0] == "S"]
    print(f"2. rolling stop: {victim.name} held {held} bench connections, exited 0, no new "
          f"connection after drain; bench: {result['replies']} replies right, {closed} connections "
          f"closed by the server, {result['missing_replies']} requests in flight at those closes "
          f"unanswered; 9 new clients during the drain all went elsewhere; haproxy session ends for {victim.name}: {sorted(set(ends))}")
    return resets


def stopped_backend_marked_down(proxy, bench, hung):
    hung.signal(signal.SIGSTOP)
    try:
        wait_for(lambda: proxy.servers()[hung.name]["status"].startswith("DOWN"), 10,
                 f"the tcp-check to mark the stopped {hung.name} down")
        sessions_down = int(proxy.servers()[hung.name]["stot"])
        code, result, out = bench.run(6, 1, "one-left")
        assert code == 0 and result["missing_replies"] == 0 and not result["errors"], out
        assert int(proxy.servers()[hung.name]["stot"]) == sessions_down, \
            f"haproxy sent a new client to the stopped {hung.name}"
        print(f"3. SIGSTOPped {hung.name} marked DOWN by the tcp-check; {result['replies']} "
              f"replies right from the one left: ok")
    finally:
        hung.signal(signal.SIGCONT)


if __name__ == "__main__":
    main(*sys.argv[1:4])
