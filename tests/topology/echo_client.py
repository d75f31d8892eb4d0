"""Echo client of the bypass topology, run in site:
`python3 echo_client.py SOURCE SERVER PORT TIMEOUT`. Prints `connected`, then for every line on
stdin sends 100 bytes and prints `ok` when they come back within TIMEOUT seconds, else `fail`."""
import socket
import sys
import time

source, server, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = None
for _ in range(100):
    try:
        s = socket.create_connection((server, port), timeout=2, source_address=(source, 0))
        break
    except OSError:
        time.sleep(0.05)
if s is None:
    print("fail connect", flush=True)
    sys.exit(1)
s.settimeout(timeout)
print("connected", flush=True)
for _line in sys.stdin:
    try:
        s.sendall(b"x" * 100)
        got = b""
        while len(got) < 100:
            d = s.recv(100 - len(got))
            if not d:
                raise OSError("closed")
            got += d
        print("ok", flush=True)
    except OSError as e:
        print("fail", e, flush=True)
