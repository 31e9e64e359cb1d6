"""The prover service: openings sealed at rest, restart from its sealed
store, the alarm when its replay diverges from the node (and the refusal to
prove after it), refusals of what the ledger does not require, and no
secret in logs or on disk in clear."""
from __future__ import annotations

import logging
import os
import sqlite3

import grpc
import pytest

from clearing.api import prover_pb2
from clearing.services import clearing_service
from clearing.services import config as services_config
from prover.custody.sealed_store import SealedStore, StoreError
from support.services import MATRIX, P0, Cluster
from zkp.field import encode_scalar

S = grpc.StatusCode
QTY = 987_653  # distinctive, to look for in logs and on disk


def code_of(fn, *a, **kw):
    with pytest.raises(grpc.RpcError) as err:
        fn(*a, **kw)
    return err.value.code(), err.value.details()


def test_openings_sealed_at_rest_and_never_logged(cluster, caplog):
    caplog.set_level(logging.DEBUG)
    cluster.onboard()
    cluster.trade("t1", "A", "B", "ESX", "buy", QTY, 500000)
    store = cluster.prover.resource.store
    db = cluster.prover.resource.store.path
    # the trade's opening is in the store, sealed
    raw = b"".join(open(p, "rb").read() for p in [db, db + "-wal"] if os.path.exists(p))
    assert encode_scalar(QTY) not in raw
    rows = sqlite3.connect(db).execute("SELECT commitment, length(sealed) FROM openings").fetchall()
    assert rows and all(n == 64 + 16 for _, n in rows)
    assert str(QTY) not in caplog.text
    # every request is logged: the RPC, the caller, and what the witness store did
    assert "PushOpening by node/clearing: OK" in caplog.text
    assert "witness: receipt t1 cycle 1: signed" in caplog.text
    assert "987653" not in repr(cluster.prover.resource) + repr(store)
    key_path = services_config.prover_key_path(cluster.dir)
    assert os.stat(key_path).st_mode & 0o077 == 0


def test_sealed_store_rejects_wrong_key_and_tampering(cluster, tmp_path):
    cluster.onboard()
    db = cluster.prover.resource.store.path
    cluster.prover.stop(0)
    cluster.prover = None
    other_key = tmp_path / "other.key"
    s = SealedStore(db, other_key)
    with pytest.raises(StoreError):
        s.load_all()
    s.close()
    good = SealedStore(db, services_config.prover_key_path(cluster.dir))
    assert len(good.load_all()) == 3  # the three prepared contributions
    good.close()
    con = sqlite3.connect(db)
    c0, sealed = con.execute("SELECT commitment, sealed FROM openings LIMIT 1").fetchone()
    con.execute("UPDATE openings SET sealed = ? WHERE commitment = ?", (bytes([sealed[0] ^ 1]) + sealed[1:], c0))
    con.commit()
    con.close()
    bad = SealedStore(db, services_config.prover_key_path(cluster.dir))
    with pytest.raises(StoreError):
        bad.load_all()
    bad.close()


def test_prover_restart_from_sealed_store_keeps_proving(cluster):
    cluster.onboard()
    cluster.trade("t1", "A", "B", "ESX", "buy", 7, 500000)
    before = cluster.member("A").balances()
    cluster.restart_prover()
    assert cluster.member("A").balances() == before
    op = cluster.operator()
    op.settle(P0, MATRIX)
    assert op.run_margin() == {"A": "pass", "B": "pass", "C": "pass"}
    op.close_cycle()


def test_lost_store_raises_alarm_and_refuses(cluster, tmp_path):
    cluster.onboard()
    cluster.trade("t1", "A", "B", "ESX", "buy", 7, 500000)
    # a prover that lost its openings cannot reproduce the node's commitments
    cluster.restart_prover(db_path=tmp_path / "fresh" / "prover.db", key_path=tmp_path / "fresh.key")
    op = cluster.operator()
    op.settle(P0, MATRIX)
    code, details = code_of(op.run_margin)
    assert code == S.FAILED_PRECONDITION and "alarm" in details
    st = cluster.member("A").prover.GetProverStatus(prover_pb2.ProverStatusRequest())
    assert st.alarm and st.alarm_reason
    # and it keeps refusing, also after a restart
    cluster.restart_prover(db_path=tmp_path / "fresh" / "prover.db", key_path=tmp_path / "fresh.key")
    code, details = code_of(cluster.member("A").balances)
    assert code == S.FAILED_PRECONDITION and "alarm" in details


def test_prover_alarm_when_node_history_differs(tmp_path):
    """The prover follows one node, then is pointed at a node whose ledger
    (same genesis) took another course: the hash chain breaks, it alarms."""
    c = Cluster(tmp_path / "cfg")
    try:
        c.onboard()
        other_db = tmp_path / "other.db"
        other, port = clearing_service.create_server(c.dir, db_path=other_db)
        try:
            node2 = other.resource
            # the other node's history: the same members admitted in another order, a different deposit
            from clearing.clients.operator import Operator
            from clearing.services.pki import load_identity
            op2 = Operator(load_identity(c.dir, "operator"), c.roster, f"127.0.0.1:{port}")
            from clearing.clients.participant import Participant
            for m in ("C", "B", "A"):
                op2.admit(m)
            a2 = Participant(load_identity(c.dir, "A"), c.roster, f"127.0.0.1:{port}")
            for k in range(8):
                a2.deposit(1000 + k)
            a2.close()
            op2.close()
            assert node2.run(lambda e: e.state.seq) > c.prover.resource.witness.state.seq
            pnode = c.prover.resource
            with pnode.lock:
                pnode.set_clearing_target(f"127.0.0.1:{port}")
            code, details = code_of(c.member("A").balances)
            assert code == S.FAILED_PRECONDITION and "alarm" in details and "chain" in details
        finally:
            other.stop(0)
    finally:
        c.stop()


def test_prover_refuses_what_the_ledger_does_not_require(cluster):
    cluster.onboard()
    a = cluster.member("A")
    # a withdrawal request with a signature that is not A's
    req = prover_pb2.ProveWithdrawalRequest(request_id="w1", member="A", amount=10, cycle=1,
                                            signature=bytes(64))
    code, _ = code_of(a.prover.ProveWithdrawal, req)
    assert code == S.FAILED_PRECONDITION
    # margin before the operator's settlement (asked by the node itself)
    node = cluster.clearing.resource
    code, details = code_of(node.prover.ProveMargin, prover_pb2.ProveMarginRequest(cycle=1))
    assert code == S.FAILED_PRECONDITION
    # default steps with no declared default
    code, _ = code_of(node.prover.ProveDefaultOpen, prover_pb2.ProveDefaultOpenRequest(cycle=1))
    assert code == S.FAILED_PRECONDITION
    # a receipt for a trade that is not in the ledger
    code, _ = code_of(node.prover.PushOpening, prover_pb2.PushOpeningRequest(trade_id="nope", sealed=b"x" * 89))
    assert code == S.FAILED_PRECONDITION
    assert not cluster.member("A").prover.GetProverStatus(prover_pb2.ProverStatusRequest()).alarm


def test_prover_alarm_when_node_ledger_goes_backwards(tmp_path):
    """A restarted prover remembers the highest (seq, head) it followed: a
    node that comes back with a shorter ledger (a lost database re-created
    from the genesis) raises the alarm instead of being followed silently."""
    from clearing.services import prover_service, rpc
    c = Cluster(tmp_path / "cfg")
    try:
        c.onboard()
        followed = c.prover.resource.sync()
        assert c.prover.resource.store.watermark()[0] == followed > 1
        other, _ = clearing_service.create_server(c.dir, db_path=tmp_path / "recreated.db")
        try:
            c.prover.stop(0)
            c.prover, c.prover_port = prover_service.create_server(c.dir, clearing_target=other.resource.feed_target)
            with pytest.raises(rpc.Abort) as err:
                c.prover.resource.sync()
            assert "backwards" in str(err.value) and c.prover.resource.store.alarm()
        finally:
            other.stop(0)
    finally:
        c.stop()
