"""Echo server of the bypass topology, run in dc: `python3 echo_server.py ADDR PORT...`
(ADDR IPv4 or IPv6). Prints `ready` once every port listens."""
import socket
import sys
import threading


def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)
    except OSError:
        return


def listen(addr, port):
    ls = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)
    return ls


def serve(ls):
    while True:
        c, _ = ls.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


addr = sys.argv[1]
for ls in [listen(addr, int(p)) for p in sys.argv[2:]]:
    threading.Thread(target=serve, args=(ls,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
