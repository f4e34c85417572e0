#!/usr/bin/env python3
# What the kernel does with connections hashed to a full worker that merely
# stopped accepting (docs/architecture.md). Two SO_REUSEPORT listeners on one port; B plays a full worker that stopped
# accepting (backlog 8). A accepts everything. 40 clients connect with a 1 s
# timeout: where do they end up?
import socket, threading, time
def listener(port, backlog):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port)); s.listen(backlog); return s
a = listener(0, 4096); port = a.getsockname()[1]
b = listener(port, 8)
accepted = []
def accept_all():
    a.settimeout(0.2)
    while True:
        try: accepted.append(a.accept()[0])
        except socket.timeout:
            if done: return
done = False
t = threading.Thread(target=accept_all); t.start()
ok = timeouts = 0; clients = []
for i in range(40):
    c = socket.socket(); c.settimeout(1)
    try: c.connect(("127.0.0.1", port)); ok += 1; clients.append(c)
    except socket.timeout: timeouts += 1
done = True; t.join(); time.sleep(0.1)
print(f"connect() succeeded {ok}, timed out {timeouts}; accepted by the accepting listener {len(accepted)}; "
      f"so {ok - len(accepted)} 'connected' clients sit unserved in the full listener's queue")
