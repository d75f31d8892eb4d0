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
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO / "tests"))

from tetherlib import daemon  # noqa: E402
FIXTURES = HERE / "fixtures"

# The three modules Capabilities must advertise.
MODULES = {"tether-interfaces", "tether-conntrack-bypass", "tether-link-state"}


def tetherd_binary() -> Path:
    try:
        return daemon.binary("tetherd")
    except FileNotFoundError as e:
        pytest.fail(str(e))


class Tetherd(daemon.Tetherd):
    """tetherd on ephemeral loopback ports (gNMI and NETCONF); `addr` is the gNMI address."""

    def __init__(self, data_dir: Path, extra: list[str], binary: Path | None = None, timeout: float = 60.0):
        argv = [
            str(binary or tetherd_binary()), "--data-dir", str(data_dir),
            "--listen", "127.0.0.1:0", "--netconf-listen", "127.0.0.1:0", *extra,
        ]
        # These suites are deterministic: the sim clock stays frozen unless a test picks one.
        if not any(a.startswith(("--sim-clock", "--dataplane")) for a in extra):
            argv += ["--sim-clock", "manual"]
        super().__init__(argv, data_dir, timeout)

    def stop(self, wait: float = 5) -> None:
        super().stop(wait)


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
