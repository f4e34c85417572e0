#!/usr/bin/env python3
"""Kernel memory per idle TCP connection on loopback, both ends counted
(the client's socket and the server's), from /proc/slabinfo (run as root).
Starts build/gotit-reactor on a free port, opens N idle connections from
this process, and divides the growth of the slab caches by N. The server's
own (user-space) memory per connection is in docs/benchmarks.md.
Usage: scripts/kernel-memory-per-connection.py [N]   (default 8000; N < the file limit)"""
import os
import re
import socket
import subprocess
import sys
import time


# The caches a connected socket takes from: its struct tcp_sock, its inode,
# its dentry and struct file, and (server side) its epoll entry. Other caches
# move with whatever else the machine does, so they are left out.
SOCKET_CACHES = ("TCP", "TCPv6", "sock_inode_cache", "dentry", "filp", "eventpoll_epi")


def slab_bytes():
    """{cache name: bytes in use} from /proc/slabinfo."""
    usage = {}
    with open("/proc/slabinfo") as f:
        for line in f.readlines()[2:]:
            name, active, _total, size = line.split()[:4]
            usage[name] = int(active) * int(size)
    return usage


def main(count):
    build = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build")
    server = subprocess.Popen([os.path.join(build, "gotit-reactor"), "--bind", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = int(re.search(r":(\d+)$", server.stdout.readline().strip()).group(1))
        time.sleep(0.5)
        before = slab_bytes()
        peers = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
        time.sleep(1.0)  # the server accepts them all
        after = slab_bytes()
        growth = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        top = [(growth.get(k, 0), k) for k in SOCKET_CACHES]
        total = sum(v for v, _ in top)
        print(f"{count} idle loopback connections (both ends): socket slab caches grew {total / 1024:.0f} KiB, "
              f"{total / count / 1024:.2f} KiB per connection")
        for value, name in top:
            print(f"  {name:24} {value / count:8.0f} B per connection")
        for peer in peers:
            peer.close()
    finally:
        server.kill()
        server.wait(timeout=10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
