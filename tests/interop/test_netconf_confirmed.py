"""NETCONF confirmed commit (RFC 6241 §8.4, :confirmed-commit:1.1) against a real tetherd with
ncclient: a confirmed commit that times out and rolls back, confirm, cancel-commit, persist and
persist-id across sessions, the owning session's end, the rpc-errors of a wrong or missing
persist-id, and a tetherd killed with a confirmed commit pending (reverted at boot)."""

from __future__ import annotations

import time

import grpc
import pytest
from ncclient.operations.rpc import RPCError
from pygnmi.client import gNMIclient, gNMIException

from conftest import Tetherd
from test_netconf import connect, group, groups
from test_pygnmi import grpc_error


def wait_for(what, pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def stage(m, gid: int, desc: str = "g"):
    m.edit_config(target="candidate", config=group(gid, desc))


def test_capability_advertised(tetherd):
    with connect(tetherd) as m:
        assert "urn:ietf:params:netconf:capability:confirmed-commit:1.1" in m.server_capabilities


def test_a_confirmed_commit_that_times_out_rolls_back(tetherd):
    with connect(tetherd) as m:
        stage(m, 1)
        m.commit()
        stage(m, 2)
        m.commit(confirmed=True, timeout="2")
        assert groups(m) == {1, 2}
        # Until then running changes only through the confirmed commit: an edit of running
        # from another session, or a gNMI Set, is refused (in-use / FAILED_PRECONDITION).
        with connect(tetherd) as other:
            with pytest.raises(RPCError) as e:
                other.edit_config(target="running", config=group(9, "x"))
            assert e.value.tag == "in-use"
        with gNMIclient(target=(tetherd.host, tetherd.port), insecure=True) as gc:
            with pytest.raises(gNMIException) as ge:
                gc.set(update=[("/tether-link-state:link-state/groups/group[id=9]/config", {"id": 9})],
                       encoding="json_ietf")
            assert grpc_error(ge.value).code() == grpc.StatusCode.FAILED_PRECONDITION
        wait_for("the rollback", lambda: groups(m) == {1})
        # After the rollback the device takes ordinary commits again.
        m.edit_config(target="running", config=group(3, "three"))
        assert groups(m) == {1, 3}


def test_a_revert_resets_the_candidate(tetherd):
    # What was staged on top of a trial that is rolled back is discarded with it: otherwise
    # the next plain commit would put the rolled-back configuration back, without a timer.
    with connect(tetherd) as m:
        stage(m, 1)
        m.commit()
        stage(m, 2)
        m.commit(confirmed=True, timeout="3")
        stage(m, 3)
        assert groups(m, "candidate") == {1, 2, 3}
        wait_for("the rollback", lambda: groups(m) == {1})
        assert groups(m, "candidate") == {1}
        m.commit()
        assert groups(m) == {1}
        m.lock("candidate")  # no uncommitted changes left (RFC 6241 §8.3.5.1)
        m.unlock("candidate")
        # The same after a cancel-commit, and after a cancel by another session.
        stage(m, 4)
        m.commit(confirmed=True, timeout="600")
        stage(m, 5)
        m.cancel_commit()
        assert groups(m, "candidate") == {1}
        stage(m, 6)
        m.commit(confirmed=True, timeout="600", persist="p6")
        stage(m, 7)
        with connect(tetherd) as other:
            other.cancel_commit(persist_id="p6")
        assert groups(m, "candidate") == {1}
        # A confirm keeps what was staged: the confirming commit carries it.
        stage(m, 8)
        m.commit(confirmed=True, timeout="600")
        stage(m, 9)
        m.commit()
        assert groups(m) == {1, 8, 9}
        assert groups(m, "candidate") == {1, 8, 9}


def test_confirm_makes_it_permanent_and_a_follow_up_extends(tetherd):
    with connect(tetherd) as m:
        stage(m, 1)
        m.commit(confirmed=True, timeout="2")
        # A follow-up confirmed commit adds changes and restarts the timer.
        stage(m, 2)
        m.commit(confirmed=True, timeout="60")
        time.sleep(2.5)
        assert groups(m) == {1, 2}
        m.commit()  # the confirming commit
        with pytest.raises(RPCError) as e:
            m.cancel_commit()
        assert e.value.tag == "operation-failed"  # nothing pending any more
    with connect(tetherd) as m:
        assert groups(m) == {1, 2}


def test_cancel_commit_reverts_to_before_the_first(tetherd):
    with connect(tetherd) as m:
        stage(m, 1)
        m.commit()
        stage(m, 2)
        m.commit(confirmed=True)
        stage(m, 3)
        m.commit(confirmed=True)
        assert groups(m) == {1, 2, 3}
        # Only the session that made it may cancel a confirmed commit without persist.
        with connect(tetherd) as other:
            with pytest.raises(RPCError) as e:
                other.cancel_commit()
            assert e.value.tag == "in-use"
        m.cancel_commit()
        assert groups(m) == {1}


def test_persist_across_sessions_and_persist_id_errors(tetherd):
    a = connect(tetherd)
    stage(a, 4)
    a.commit(confirmed=True, persist="token-1")
    # A persistent confirmed commit outlives its session.
    a.close_session()
    time.sleep(0.3)
    with connect(tetherd) as b:
        assert groups(b) == {4}
        with pytest.raises(RPCError) as e:
            b.commit(persist_id="wrong")
        assert e.value.tag == "invalid-value"
        with pytest.raises(RPCError) as e:
            b.cancel_commit(persist_id="wrong")
        assert e.value.tag == "invalid-value"
        with pytest.raises(RPCError) as e:
            b.commit()  # a plain commit does not confirm a persistent one
        assert e.value.tag == "in-use"
        assert len(e.value.message or "") <= 1100 and "token-1" not in (e.value.message or "")
        b.commit(persist_id="token-1")
        with pytest.raises(RPCError) as e:
            b.commit(persist_id="token-1")
        assert e.value.tag == "operation-failed"
        assert groups(b) == {4}


def test_persist_id_cancels_from_another_session(tetherd):
    with connect(tetherd) as a:
        stage(a, 5)
        a.commit(confirmed=True, persist="p")
    with connect(tetherd) as b:
        b.cancel_commit(persist_id="p")
        assert groups(b) == set()


def test_the_owning_session_ending_reverts_it(tetherd):
    a = connect(tetherd)
    stage(a, 6)
    a.commit(confirmed=True)
    with connect(tetherd) as b:
        assert groups(b) == {6}
        b.kill_session(a.session_id)  # RFC 6241 §7.9: reverted before the reply
        assert groups(b) == set()
    c = connect(tetherd)
    stage(c, 7)
    c.commit(confirmed=True)
    c.close_session()
    with connect(tetherd) as b:
        wait_for("the revert at close", lambda: groups(b) == set())


def test_restart_with_a_pending_confirmed_commit_reverts_it(tmp_path):
    data = tmp_path / "data"
    d = Tetherd(data, ["--insecure"])
    try:
        with connect(d) as m:
            stage(m, 1)
            m.commit()
            stage(m, 2)
            m.commit(confirmed=True, timeout="3600", persist="survives-sessions")
            assert groups(m) == {1, 2}
        d.kill()  # SIGKILL: a crash, no orderly shutdown
    finally:
        d.stop()
    d = Tetherd(data, ["--insecure"])
    try:
        with connect(d) as m:
            assert groups(m) == {1}
            with pytest.raises(RPCError) as e:
                m.commit(persist_id="survives-sessions")
            assert e.value.tag == "operation-failed"
        assert any("restarted with a confirmed commit pending" in line for line in d.log), d.log[-20:]
    finally:
        d.stop()
