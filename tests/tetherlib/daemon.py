"""A tetherd process whose stderr is collected: it is ready once it logs `listening on ADDR`.

The binary is `$TETHERD` (tests/run-all.sh sets it) or target/debug/tetherd of this checkout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

from . import REPO

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def binary(name: str = "tetherd") -> Path:
    """`$TETHERD`/`$TETHERCTL`, else target/debug/<name>; FileNotFoundError when absent."""
    env = {"tetherd": "TETHERD", "tetherctl": "TETHERCTL"}.get(name)
    path = Path((env and os.environ.get(env)) or REPO / "target" / "debug" / name)
    if not path.is_file():
        raise FileNotFoundError(f"{name} binary not found at {path}: run `cargo build -p {name}` or set ${env}")
    return path


class Tetherd:
    """Runs `argv` (a tetherd command line, possibly behind `ip netns exec`), collects stderr
    without colours, and waits until tetherd logs where it listens (`addr`)."""

    def __init__(self, argv: list[str], data_dir: Path, timeout: float = 60.0, log_filter: str = "info"):
        self.data_dir = data_dir
        self.log: list[str] = []
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", log_filter), NO_COLOR="1")
        # `ip netns exec` execs the command: proc.pid is tetherd itself either way.
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        self._listening = threading.Event()
        self.addr: str | None = None
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._listening.wait(timeout) or self.addr is None:
            self.kill()
            raise RuntimeError("tetherd did not log `listening on`:\n" + "\n".join(self.log[-50:]))
        self.host, port = self.addr.rsplit(":", 1)
        self.port = int(port)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = _ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\n")
            self.log.append(line)
            if self.addr is None and "listening on " in line:
                self.addr = line.split("listening on ", 1)[1].split()[0]
                self._listening.set()
        self._listening.set()  # exited before listening: let the waiter fail fast

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """The first log line matching `pattern`, waiting for it: listeners other than gNMI's
        (NETCONF) log their address from their own task, possibly after `listening on`."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.log):
                m = rx.search(line)
                if m:
                    return m
            if time.monotonic() > deadline or not self.alive():
                raise AssertionError(f"tetherd never logged /{pattern}/:\n" + "\n".join(self.log[-30:]))
            time.sleep(0.02)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL, wait: float = 10) -> None:
        """Sends `sig` (SIGKILL: a crash) and reaps; SIGKILL after `wait` seconds if still alive."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def stop(self, wait: float = 10) -> None:
        """A clean stop: SIGTERM, tetherd drains and exits."""
        self.kill(signal.SIGTERM, wait)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def cpu_s(self) -> float:
        """User + system CPU seconds the daemon has used so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
