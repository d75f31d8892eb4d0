#!/usr/bin/env python3
"""Automation against tetherd with a stock gNMI client (pygnmi), the way a provisioning script
does it: push a link-state group as intent, wait until the dataplane has applied that commit
(instead of sleeping), then read the group's operational state.

    pip install pygnmi
    python3 push_link_state.py --target 127.0.0.1:57400 --group 7 --upstream Po11 --downstream Gi1/1

Only the YANG is assumed: the paths are those of yang/tether-link-state.yang.
"""

from __future__ import annotations

import argparse
import sys
import time

from pygnmi.client import gNMIclient

LST = "/tether-link-state:link-state"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="127.0.0.1:57400", help="tetherd's gNMI address HOST:PORT")
    p.add_argument("--insecure", action="store_true", default=True, help="plaintext gRPC (the embedded default)")
    p.add_argument("--user", default=None)
    p.add_argument("--password", default=None)
    p.add_argument("--group", type=int, required=True)
    p.add_argument("--upstream", action="append", default=[])
    p.add_argument("--downstream", action="append", default=[])
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the dataplane")
    a = p.parse_args()
    host, port = a.target.rsplit(":", 1)

    members = lambda names: {"interface": [{"name": n, "config": {"name": n}} for n in names]}  # noqa: E731
    group = {
        "id": a.group,
        "config": {"id": a.group, "description": "pushed by push_link_state.py"},
        "upstream": {"interfaces": members(a.upstream)},
        "downstream": {"interfaces": members(a.downstream)},
    }
    creds = {"username": a.user, "password": a.password} if a.user else {}
    with gNMIclient(target=(host, int(port)), insecure=a.insecure, **creds) as c:
        # One Set, one commit: the group and its members together (replace makes it exact).
        reply = c.set(replace=[(f"{LST}/groups/group[id={a.group}]", group)], encoding="json_ietf")
        committed_ns = int(reply["timestamp"])
        # The SetResponse timestamp is the commit's; applied-commit-timestamp reaches it once
        # the dataplane enforces it.
        deadline = time.monotonic() + a.timeout
        while True:
            got = c.get(path=[f"{LST}/state/applied-commit-timestamp"], encoding="json_ietf", datatype="state")
            updates = got["notification"][0].get("update") or []
            applied = int(updates[0]["val"]) if updates else 0
            if applied >= committed_ns:
                break
            if time.monotonic() > deadline:
                print(f"not applied within {a.timeout} s", file=sys.stderr)
                return 1
            time.sleep(0.05)
        state = c.get(path=[f"{LST}/groups/group[id={a.group}]/state"], encoding="json_ietf", datatype="state")
        s = state["notification"][0]["update"][0]["val"]
        status = s.get("status") or s.get("tether-link-state:status")
        print(f"group {a.group}: applied; status {status}, "
              f"upstreams up {s.get('upstream-up')}/{s.get('upstream-total')}, "
              f"downstreams disabled {s.get('downstream-disabled')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
