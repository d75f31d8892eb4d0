"""tetherctl against a real tetherd: the Cisco scenario typed as an operator would.

The reference ASA/IOS configuration is imported, the carriers are brought up through the
simulation leaves, and `show link state group 1 detail` must print exactly what the reference
switch printed; cutting the upstream must show every downstream `(Dis)` and restoring it must
bring them back. `show bypass` must name the policies the import created.
"""

from __future__ import annotations

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
