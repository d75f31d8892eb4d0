"""tetherctl against a real tetherd: the Cisco scenario typed as an operator would.

The reference ASA/IOS configuration is imported, the carriers are brought up through the
simulation leaves, and `show link state group 1 detail` must print exactly what the reference
switch printed; cutting the upstream must show every downstream `(Dis)` and restoring it must
bring them back. `show bypass` must name the policies the import created.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO

FIXTURES = REPO / "crates" / "tetherctl" / "tests" / "fixtures"
DOWNSTREAMS = [f"Gi1/{i}" for i in range(1, 41)]


def tetherctl_binary() -> Path:
    path = Path(os.environ.get("TETHERCTL") or REPO / "target" / "debug" / "tetherctl")
    if not path.is_file():
        pytest.fail(f"tetherctl binary not found at {path}: run `cargo build -p tetherctl` or set $TETHERCTL")
    return path


def ctl(tetherd, *args: str) -> str:
    out = subprocess.run(
        [str(tetherctl_binary()), "--target", tetherd.addr, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, f"tetherctl {' '.join(args[:3])}: rc {out.returncode}\n{out.stderr[-2000:]}"
    return out.stdout


def carriers(tetherd, names: list[str], up: bool) -> None:
    args: list[str] = []
    for n in names:
        args += ["--update", f"/interfaces/interface[name={n}]/simulation/config/carrier={'true' if up else 'false'}"]
    ctl(tetherd, "set", *args)


def show_until(tetherd, want, timeout: float = 10.0) -> str:
    """`show link state group 1 detail` once `want(text)` holds (the worker applies a commit
    after the Set returns), or the last output when it never does."""
    deadline = time.monotonic() + timeout
    while True:
        text = ctl(tetherd, "show", "link", "state", "group", "1", "detail")
        if want(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_reference_scenario_through_tetherctl(tetherd):
    out = ctl(tetherd, "import", str(FIXTURES / "reference.cfg"))
    assert "link state group 1" in out

    carriers(tetherd, ["Po11", *DOWNSTREAMS], up=True)
    expected = (FIXTURES / "show-link-state-group-1-detail.txt").read_text()
    assert show_until(tetherd, lambda t: t == expected) == expected

    carriers(tetherd, ["Po11"], up=False)
    def all_disabled(t: str) -> bool:
        return all(f"{n}(Dis)" in t.split() for n in DOWNSTREAMS)

    cut = show_until(tetherd, all_disabled)
    assert "Status: Enabled, Down" in cut
    assert "Po11(Dwn)" in cut
    assert all_disabled(cut), cut

    carriers(tetherd, ["Po11"], up=True)
    assert show_until(tetherd, lambda t: t == expected) == expected

    bypass = ctl(tetherd, "show", "bypass")
    for line in ("Interface Inside:", "Service-policy: Inside-policy", "Service-policy: MPLS-policy",
                 "Match: access-list StatelessTraffic", "tcp-state-bypass"):
        assert line in bypass, f"{line!r} missing from show bypass:\n{bypass}"


def test_show_of_an_unknown_group_fails(tetherd):
    out = subprocess.run(
        [str(tetherctl_binary()), "--target", tetherd.addr, "show", "link", "state", "group", "7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode != 0
    assert "link state group 7 is not configured" in out.stderr


@pytest.mark.parametrize("fixture", ["reference.cfg", "export-large-asa.cfg", "export-large-linux.cfg"])
def test_export_is_a_fixed_point_of_import(tetherd, tmp_path, fixture):
    """import → export → import --replace leaves the running configuration as it was, and
    exporting it again prints the same text (`show running-config` ↔ paste)."""
    ctl(tetherd, "import", str(FIXTURES / fixture))
    before = ctl(tetherd, "get", "/bypass", "/link-state", "--type", "config")
    exported = ctl(tetherd, "export")
    assert "access-list" in exported and "link state group" in exported, exported
    text = tmp_path / "exported.cfg"
    text.write_text(exported)
    # An ordinary change in between, so the replace has something to undo.
    ctl(tetherd, "set", "--delete", "/bypass/service-policies")
    ctl(tetherd, "import", "--replace", str(text))
    assert ctl(tetherd, "get", "/bypass", "/link-state", "--type", "config") == before
    assert ctl(tetherd, "export") == exported


# ---- gnmic's flag names (-a/--address, --skip-verify, capabilities, -e, --format) -----------


def run_ctl(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
    out = subprocess.run([str(tetherctl_binary()), *args], capture_output=True, text=True, timeout=60)
    if ok:
        assert out.returncode == 0, f"tetherctl {' '.join(args)}: rc {out.returncode}\n{out.stderr[-2000:]}"
    return out


def test_capabilities_with_gnmic_flags(tetherd):
    text = run_ctl("-a", tetherd.addr, "--insecure", "capabilities").stdout
    lines = text.splitlines()
    assert lines[0] == "gNMI version: 0.10.0", text
    assert "supported models:" in lines and "supported encodings:" in lines, text
    for m in ("tether-interfaces", "tether-conntrack-bypass", "tether-link-state"):
        assert any(line.startswith(f"  - {m}, Tether project, ") for line in lines), text
    assert "  - JSON" in lines and "  - JSON_IETF" in lines, text
    doc = json.loads(run_ctl("--address", tetherd.addr, "capabilities", "--format", "json").stdout)
    assert doc["version"] == "0.10.0" and {"JSON", "JSON_IETF"} <= set(doc["encodings"])
    assert {m["name"] for m in doc["supported-models"]} >= {"tether-interfaces", "tether-link-state"}
    # a host without a port is gnmic's default port, 57400: not this daemon's
    host, port = tetherd.addr.rsplit(":", 1)
    assert port != "57400"
    refused = run_ctl("-a", "localhost:1", "capabilities", ok=False)
    assert refused.returncode == 1 and "localhost:1" in refused.stderr


def test_encoding_is_case_insensitive_and_flat_format(tetherd):
    out = ctl(tetherd, "import", str(FIXTURES / "reference.cfg"))
    assert "link state group 1" in out
    for e in ("JSON", "json", "Json_Ietf", "JSON_IETF"):
        doc = json.loads(run_ctl("-a", tetherd.addr, "-e", e, "get", "/link-state/groups/group[id=1]/config/id").stdout)
        assert list(doc.values()) == [1], (e, doc)
    flat = run_ctl("-a", tetherd.addr, "--format", "flat", "get", "--type", "config", "/link-state/groups/group[id=1]").stdout
    lines = flat.splitlines()
    assert "/tether-link-state:link-state/groups/group[id=1]/config/id: 1" in lines, flat
    assert ("/tether-link-state:link-state/groups/group[id=1]/downstream/interfaces/interface[name=Gi1/40]"
            "/config/name: Gi1/40") in lines, flat
    assert all(": " in line and "{" not in line for line in lines), flat
    # subscribe ONCE as JSON lines: one object per leaf
    sub = run_ctl("-a", tetherd.addr, "--format", "json", "subscribe", "--mode", "once",
                  "/link-state/groups/group[id=1]/state/status").stdout
    rows = [json.loads(line) for line in sub.splitlines()]
    assert [r["value"] for r in rows] == ["down"], rows  # no carrier yet
    assert rows[0]["path"].endswith("group[id=1]/state/status") and rows[0]["timestamp"] > 0


def test_skip_verify(tetherd_tls, tls_files):
    addr = tetherd_tls.addr
    # verified TLS: the daemon's (self-signed) certificate as the CA
    text = run_ctl("-a", addr, "--tls-ca", str(tls_files["cert"]), "capabilities").stdout
    assert text.startswith("gNMI version: 0.10.0"), text
    # plaintext against a TLS daemon fails; unverified TLS works, as gnmic --skip-verify
    assert run_ctl("-a", addr, "--insecure", "capabilities", ok=False).returncode == 1
    text = run_ctl("-a", addr, "--skip-verify", "capabilities").stdout
    assert text.startswith("gNMI version: 0.10.0"), text
    # any name: nothing is checked
    text = run_ctl("-a", addr, "--skip-verify", "--tls-server-name", "not-the-cert-name.example", "capabilities").stdout
    assert text.startswith("gNMI version"), text
    # without it a certificate from an unknown CA is refused
    other = run_ctl("-a", addr.replace("127.0.0.1", "localhost"), "--tls-ca", "/etc/ssl/certs/ca-certificates.crt",
                    "capabilities", ok=False)
    assert other.returncode == 1, other.stdout
