"""Issue 13 §2: the operator's Settle of a scenario set too large for one
request, through AdminService.StageScenarioRows and Settle with
``staged_rows`` (clearing.services.scenario_staging), on the real services.

A staged settle books the very event an inline settle of the same set
books (a twin cluster from the same configuration settles inline); only the
operator stages; bad shapes, other cycles, gaps and differing re-sends are
refused with precise statuses; a settle on an incomplete staging is
FAILED_PRECONDITION; a retried staged Settle replays; a set over the 4 MiB
request limit is refused inline (RESOURCE_EXHAUSTED) and accepted staged
(800 x 800: fast enough for the default suite).
"""
from __future__ import annotations

import random
import shutil

import grpc
import pytest

from clearing.api import admin_pb2, admin_pb2_grpc, convert
from clearing.clients import operator as operator_client
from clearing.protocol import maintenance
from clearing.protocol.messages import settlement_message
from clearing.services import rpc
from clearing.services.pki import load_identity
from support.services import INSTRUMENTS, MATRIX, P0, Cluster, make_config
from zkp.statements import MAX_SCENARIOS

S = grpc.StatusCode
#: 8 scenarios over the harness's two instruments (row 0: no move).
SET = [list(r) for r in MATRIX] + [[7 * 50 * k, -3 * 20 * k] for k in range(1, 5)]
N = len(SET)


@pytest.fixture
def twins(tmp_path):
    """Two clusters started from one configuration (the same keys and genesis)."""
    make_config(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    cs = [Cluster(tmp_path / n, init=False) for n in ("a", "b")]
    try:
        yield cs
    finally:
        for c in cs:
            c.stop()


def _settle_event(c: Cluster) -> tuple[int, dict, bytes]:
    evs = c.clearing.resource.run(lambda e: e.events_with_hashes(0))
    return next(x for x in evs if x[1].get("kind") == "settle")


def _stub(c: Cluster, who: str, max_send: int = rpc.MAX_MESSAGE_BYTES):
    ident = load_identity(c.dir, who)
    ch = grpc.secure_channel(c.clearing_target, ident.channel_credentials(),
                             options=[("grpc.max_send_message_length", max_send)])
    return ch, rpc.Client(admin_pb2_grpc.AdminServiceStub(ch), 60.0)


def _code(call, request) -> S:
    try:
        call(request)
    except grpc.RpcError as e:
        return e.code()
    return S.OK


class _Counting:
    """The operator's admin stub, counting StageScenarioRows calls."""

    def __init__(self, inner):
        self.inner, self.staged = inner, []

    def __getattr__(self, name):
        method = getattr(self.inner, name)
        if name != "StageScenarioRows":
            return method

        def call(request, **kw):
            self.staged.append((request.first_row, len(request.rows)))
            return method(request, **kw)
        return call


def _signed_settle(c: Cluster, matrix, *, staged: bool, rid: str = "settle-x") -> admin_pb2.SettleRequest:
    op = c.operator()
    st = op.status()
    sid = maintenance.set_id(0, [i.id for i in st.instruments], matrix, None, None)
    req = admin_pb2.SettleRequest(request_id=rid, cycle=st.cycle, prices=P0,
                                  scenario_set=convert.scenario_set_msg(0, matrix),
                                  operator_signature=op._sign(settlement_message(st.cycle, P0, sid)))
    if staged:
        del req.scenario_set.rows[:]
        req.staged_rows = True
    return req


def test_staged_settle_books_the_inline_event(twins, monkeypatch):
    a, b = twins
    b.operator().settle(P0, SET, request_id="settle-0")  # inline: under the threshold
    monkeypatch.setattr(operator_client, "STAGE_ABOVE_BYTES", 100)
    op = a.operator()
    op.admin = spy = _Counting(op.admin)
    seq = op.settle(P0, SET, request_id="settle-0")
    assert len(spy.staged) >= 3 and [f for f, _ in spy.staged] == sorted({f for f, _ in spy.staged})
    assert sum(n for _, n in spy.staged) == len(SET)
    inline, staged = _settle_event(b), _settle_event(a)
    assert staged == inline and staged[0] == seq
    ids = [i["id"] for i in INSTRUMENTS]
    assert staged[1]["scenario_set"]["id"] == maintenance.set_id(0, ids, SET, None, None).hex()
    # a retry (same request id) replays the recorded result; nothing is appended
    assert op.settle(P0, SET, request_id="settle-0") == seq
    ch, admin = _stub(a, "operator")
    try:
        assert admin.Settle(_signed_settle(a, SET, staged=True, rid="settle-0")).seq == seq
    finally:
        ch.close()
    assert a.clearing.resource.run(lambda e: e.chain_head())[0] == seq


def test_only_the_operator_stages(cluster):
    rows = convert.scenario_set_msg(0, SET).rows
    for who in ("A", "prover", "auditor"):
        ch, admin = _stub(cluster, who)
        try:
            assert _code(admin.StageScenarioRows, admin_pb2.StageScenarioRowsRequest(
                request_id="st", cycle=0, first_row=0, rows=rows, total_rows=len(SET))) == S.PERMISSION_DENIED
        finally:
            ch.close()


def test_stage_refusals_and_incomplete_settle(cluster):
    ch, admin = _stub(cluster, "operator")
    rows = convert.scenario_set_msg(0, SET).rows
    cyc = cluster.operator().status().cycle

    def stage(first, chunk, total=N, cycle=cyc, rid="st"):
        return _code(admin.StageScenarioRows, admin_pb2.StageScenarioRowsRequest(
            request_id=rid, cycle=cycle, first_row=first, rows=chunk, total_rows=total))

    try:
        # shapes and bounds
        assert stage(0, rows[:2], total=0) == S.INVALID_ARGUMENT
        assert stage(0, rows[:2], total=MAX_SCENARIOS + 1) == S.INVALID_ARGUMENT
        assert stage(0, []) == S.INVALID_ARGUMENT
        assert stage(0, rows[:3], total=2) == S.INVALID_ARGUMENT
        assert stage(6, rows[:3]) == S.INVALID_ARGUMENT  # ends after total_rows
        assert stage(0, [admin_pb2.ScenarioSet.Row(pnl=[0, 0, 0])]) == S.INVALID_ARGUMENT
        assert stage(0, [admin_pb2.ScenarioSet.Row(pnl=[0])]) == S.INVALID_ARGUMENT
        assert stage(0, rows[:2], rid="bad id!") == S.INVALID_ARGUMENT
        # another cycle; no staging to continue
        assert stage(0, rows[:2], cycle=cyc + 1) == S.FAILED_PRECONDITION
        assert stage(2, rows[2:4]) == S.FAILED_PRECONDITION
        settle = admin.Settle
        assert _code(settle, _signed_settle(cluster, SET, staged=True)) == S.FAILED_PRECONDITION
        # a partial staging: in order, idempotent re-sends, no gaps, no differing re-sends
        assert stage(0, rows[:2]) == S.OK
        assert stage(0, rows[:2]) == S.OK
        assert stage(1, rows[1:3]) == S.OK
        assert stage(4, rows[4:6]) == S.FAILED_PRECONDITION
        assert stage(2, [admin_pb2.ScenarioSet.Row(pnl=[1, 1])]) == S.FAILED_PRECONDITION
        assert stage(3, rows[3:5], total=len(SET) + 1) == S.INVALID_ARGUMENT
        assert _code(settle, _signed_settle(cluster, SET, staged=True)) == S.FAILED_PRECONDITION
        inline_too = _signed_settle(cluster, SET, staged=False)
        inline_too.staged_rows = True
        assert _code(settle, inline_too) == S.INVALID_ARGUMENT
        assert stage(3, rows[3:]) == S.OK
        head = cluster.clearing.resource.run(lambda e: e.chain_head())[0]
        # complete: the set id and signature are checked as for an inline set
        other = [list(r) for r in SET]
        other[1][0] += 1
        assert _code(settle, _signed_settle(cluster, other, staged=True)) == S.INVALID_ARGUMENT
        assert cluster.clearing.resource.run(lambda e: e.chain_head())[0] == head
        assert settle(_signed_settle(cluster, SET, staged=True)).seq == head + 1
        # a new first chunk replaces the staging
        assert stage(0, rows[:1], total=1) == S.OK
        assert _code(settle, _signed_settle(cluster, SET, staged=True)) == S.ALREADY_EXISTS  # another set now
    finally:
        ch.close()


def test_a_set_over_the_request_limit_is_staged(tmp_path):
    """800 instruments x 800 scenarios of up-to-63-bit P&Ls (~6 MB inline)."""
    n_inst, n_scen = 800, 800
    insts = [{"id": f"X{i:04d}", "multiplier": 1, "tick": 1, "price0": 1000} for i in range(n_inst)]
    c = Cluster(tmp_path / "cfg", instruments=insts)
    try:
        rnd = random.Random(13)
        matrix = [[0] * n_inst] + [[rnd.randint(-(1 << 62), 1 << 62) for _ in range(n_inst)]
                                   for _ in range(n_scen - 1)]
        prices = [1000] * n_inst
        op = c.operator()
        cyc = op.status().cycle
        ids = [i["id"] for i in insts]
        sid = maintenance.set_id(0, ids, matrix, None, None)
        inline = admin_pb2.SettleRequest(request_id="settle-big", cycle=cyc, prices=prices,
                                         scenario_set=convert.scenario_set_msg(0, matrix),
                                         operator_signature=op._sign(settlement_message(cyc, prices, sid)))
        assert inline.ByteSize() > rpc.MAX_MESSAGE_BYTES
        ch, admin = _stub(c, "operator", max_send=64 << 20)
        try:
            assert _code(admin.Settle, inline) == S.RESOURCE_EXHAUSTED
        finally:
            ch.close()
        op.admin = spy = _Counting(op.admin)
        seq = op.settle(prices, matrix, request_id="settle-big")
        assert len(spy.staged) >= 2
        ev = _settle_event(c)
        assert ev[0] == seq and ev[1]["scenario_set"]["id"] == sid.hex()
        assert ev[1]["scenario_set"]["matrix"] == matrix
    finally:
        c.stop()
