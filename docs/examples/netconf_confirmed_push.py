#!/usr/bin/env python3
"""What Ansible's `ansible.netcommon.netconf_config` does with `confirm:`, as a plain ncclient
script: lock the candidate, load a change, confirmed-commit it with a timeout, check the box
still answers and the change is in running, then confirm it (or let it revert).

    pip install ncclient
    python3 netconf_confirmed_push.py --port 8830 --group 7 --description "edge uplinks"
    python3 netconf_confirmed_push.py --port 8830 --group 7 --description "try" --no-confirm

Only the YANG is assumed (yang/tether-link-state.yang).
"""

from __future__ import annotations

import argparse
import sys
from xml.sax.saxutils import escape

from ncclient import manager
from ncclient.operations.rpc import RPCError

NS = "urn:tether:yang:tether-link-state"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8830)
    p.add_argument("--user", default="admin")
    p.add_argument("--password", default="admin")
    p.add_argument("--group", type=int, required=True)
    p.add_argument("--description", required=True)
    p.add_argument("--confirm-timeout", type=int, default=60, help="seconds before an unconfirmed commit reverts")
    p.add_argument("--no-confirm", action="store_true", help="leave the commit unconfirmed: it reverts")
    a = p.parse_args()
    change = (f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><link-state xmlns="{NS}"><groups><group>'
              f"<id>{a.group}</id><config><id>{a.group}</id><description>{escape(a.description)}</description>"
              f"</config></group></groups></link-state></config>")
    check = (f'<link-state xmlns="{NS}"><groups><group><id>{a.group}</id><config><description/></config>'
             f"</group></groups></link-state>")
    with manager.connect(host=a.host, port=a.port, username=a.user, password=a.password, hostkey_verify=False,
                         allow_agent=False, look_for_keys=False, timeout=30) as m:
        try:
            with m.locked("candidate"):
                m.discard_changes()
                m.edit_config(target="candidate", config=change)
                m.validate(source="candidate")
                # Without <persist> a confirmed commit also reverts when this session ends; with it,
                # it outlives the session and only the timeout (or its persist-id) ends it.
                persist = f"push-{a.group}" if a.no_confirm else None
                m.commit(confirmed=True, timeout=str(a.confirm_timeout), persist=persist)
                running = m.get_config(source="running", filter=("subtree", check)).data_xml
                if f"<description>{escape(a.description)}</description>" not in running:
                    m.cancel_commit()
                    print("the change is not in running: cancelled", file=sys.stderr)
                    return 1
                if a.no_confirm:
                    print(f"committed, unconfirmed: reverts in {a.confirm_timeout} s unless confirmed with persist-id {persist}")
                    return 0
                m.commit()
        except RPCError as e:
            print(f"refused: {e.tag}: {e.message} ({e.path})", file=sys.stderr)
            return 1
    print(f"group {a.group}: committed and confirmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
