"""oc-config-validate (PyPI, google/gnxi) running tether.yaml against a real tetherd,
plaintext (`--no_tls`) and TLS (self-signed server certificate given as the root CA, and
fetched from the target with `--target_cert_as_root_ca`).

The CLI exits 0 even when test cases fail, so the verdict is read from its results file.
It runs in its own process: its generated gnmi_pb2 (gNMI 0.8) and pygnmi's register the same
`gnmi.proto` in protobuf's default descriptor pool and cannot be imported together.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pygnmi.client import gNMIclient

from conftest import normalize

HERE = Path(__file__).resolve().parent
TESTS_FILE = HERE / "tether.yaml"


def expected_test_count() -> int:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_mapping(node, deep=True))
    return len(yaml.load(TESTS_FILE.read_text(), Loader=Loader)["tests"])


def run_oc_config_validate(addr: str, tmp_path: Path, *flags: str) -> dict:
    results = tmp_path / "results.json"
    cmd = [sys.executable, "-m", "oc_config_validate", "--target", addr, "-tests", str(TESTS_FILE),
           "-results", str(results), "--log_gnmi", *flags]
    p = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, f"oc_config_validate exited {p.returncode}\n{p.stdout}\n{p.stderr}"
    assert results.is_file(), p.stderr
    out = json.loads(results.read_text())
    failed = [
        (t.get("test_name"), [r.get("fail_msg") for r in t.get("results", []) if r.get("result") != "PASS"])
        for t in out["results"]
        if not t.get("success")
    ]
    assert not failed, f"failed test cases: {failed}\n{p.stderr[-4000:]}"
    assert out["tests_fail"] == 0 and out["tests_pass"] == expected_test_count() == out["tests_total"], out
    return out


def assert_reference_config(d, reference, **client_kw):
    with gNMIclient(target=(d.host, d.port), **client_kw) as gc:
        r = gc.get(path=["/"], datatype="config", encoding="json_ietf")
    assert normalize(r["notification"][0]["update"][0]["val"]) == normalize(reference)


def test_init_configs_are_the_reference_scenario(reference):
    assert json.loads((HERE / "init-link-state.json").read_text()) == reference["tether-link-state:link-state"]
    assert json.loads((HERE / "init-bypass.json").read_text()) == reference["tether-conntrack-bypass:bypass"]


def test_no_tls(tetherd, tmp_path, reference):
    run_oc_config_validate(tetherd.addr, tmp_path, "--no_tls")
    assert_reference_config(tetherd, reference, insecure=True)


@pytest.mark.parametrize("how", ["root_ca_cert", "target_cert_as_root_ca"])
def test_tls(tetherd_tls, tls_files, tmp_path, reference, how):
    flags = ["--root_ca_cert", str(tls_files["cert"])] if how == "root_ca_cert" else ["--target_cert_as_root_ca"]
    run_oc_config_validate(tetherd_tls.addr, tmp_path, *flags)
    assert_reference_config(tetherd_tls, reference, path_cert=str(tls_files["cert"]))
