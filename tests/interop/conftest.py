"""Shared fixtures of the interop tests: a real `tetherd` on an ephemeral loopback port.

`$TETHERD` names the binary (tests/run-all.sh sets it to target/debug/tetherd); without it the
fixtures fall back to target/debug/tetherd of this checkout. Each test gets its own daemon and
data directory, so no test sees another's configuration.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import os
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = HERE / "fixtures"

# The three modules Capabilities must advertise.
MODULES = {"tether-interfaces", "tether-conntrack-bypass", "tether-link-state"}

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def tetherd_binary() -> Path:
    path = Path(os.environ.get("TETHERD") or REPO / "target" / "debug" / "tetherd")
    if not path.is_file():
        pytest.fail(f"tetherd binary not found at {path}: run `cargo build -p tetherd` or set $TETHERD")
    return path


class Tetherd:
    """A running tetherd whose stderr is collected; `addr` is what it logged after `listening on`."""

    def __init__(self, data_dir: Path, extra: list[str], binary: Path | None = None, timeout: float = 60.0):
        self.data_dir = data_dir
        self.log: list[str] = []
        cmd = [str(binary or tetherd_binary()), "--data-dir", str(data_dir), "--listen", "127.0.0.1:0", "--netconf-listen", "127.0.0.1:0", *extra]
        # These suites are deterministic: the sim clock stays frozen unless a test picks one.
        if not any(a.startswith(("--sim-clock", "--dataplane")) for a in extra):
            cmd += ["--sim-clock", "manual"]
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "info"), NO_COLOR="1")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
        )
        self._listening = threading.Event()
        self.addr: str | None = None
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        if not self._listening.wait(timeout) or self.addr is None:
            self.stop()
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

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def _start(tmp_path: Path, extra: list[str], request: pytest.FixtureRequest):
    d = Tetherd(tmp_path / "data", extra)
    try:
        yield d
    finally:
        alive = d.alive()
        d.stop()
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            print("---- tetherd log (last 80 lines) ----\n" + "\n".join(d.log[-80:]))
        assert alive, "tetherd died during the test:\n" + "\n".join(d.log[-40:])


@pytest.fixture
def tetherd(tmp_path, request):
    """A plaintext (`--insecure`) tetherd on a fresh data directory: the Tetherd object."""
    yield from _start(tmp_path, ["--insecure"], request)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed server certificate for 127.0.0.1/localhost: dict(cert=, key=) paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    d = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = d / "server.crt", d / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return {"cert": cert_path, "key": key_path}


@pytest.fixture
def tetherd_tls(tmp_path, tls_files, request):
    """A TLS tetherd (server certificate only, no client certificates) on a fresh data directory."""
    yield from _start(
        tmp_path, ["--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"])], request
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, "rep_" + rep.when, rep)
    return rep


# ---- the reference scenario ----------------------------------------------------------------


@pytest.fixture(scope="session")
def reference_config() -> dict:
    """The reference scenario as RFC 7951 JSON, top-level members module-qualified
    (`tether-conntrack-bypass:bypass`, `tether-link-state:link-state`), 40 downstreams."""
    return json.loads((FIXTURES / "reference40.json").read_text())


@pytest.fixture
def reference(reference_config) -> dict:
    return copy.deepcopy(reference_config)


LIST_KEYS = ("name", "sequence", "id", "interface")


def normalize(value):
    """Lists sorted (by their key leaf when they have one) so that list order does not matter."""
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [normalize(v) for v in value]

        def key(x):
            if isinstance(x, dict):
                for k in LIST_KEYS:
                    if k in x:
                        return (0, str(type(x[k])), str(x[k]).zfill(12) if isinstance(x[k], int) else str(x[k]))
            return (1, "", json.dumps(x, sort_keys=True))

        return sorted(items, key=key)
    return value
