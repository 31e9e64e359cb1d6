"""Issue 14 §4 over gRPC: sizing and Cover-2 filings (ProverService.ProveSizing,
ClearingService.FileSizing, the public GetCover2Report) and the operator's
insolvency declaration
(AdminService.DeclareInsolvency): any member not in default, at any time;
an idempotent retry replays the recorded event; a bad signature, an
over-long or non-printable reason are INVALID_ARGUMENT (the reason is never
echoed); a second declaration, another cycle are FAILED_PRECONDITION; a
member's certificate is refused; the default event then runs as for a
called member."""
from __future__ import annotations

import grpc
import pytest

from clearing.api import admin_pb2, admin_pb2_grpc, clearing_pb2
from clearing.protocol.df_sizing import MAX_REASON
from clearing.protocol.messages import insolvency_message


def _raw(op, member, reason, *, cycle=None, rid="ins-x", sig_reason=None):
    cycle = op.status().cycle if cycle is None else cycle
    sig = op._sign(insolvency_message(cycle, member, reason if sig_reason is None else sig_reason))
    return op.admin.DeclareInsolvency(admin_pb2.DeclareInsolvencyRequest(
        request_id=rid, cycle=cycle, member=member, reason=reason, operator_signature=sig))


def test_declare_insolvency_over_grpc(cluster):
    cluster.onboard()
    op = cluster.operator()
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", "court order", sig_reason="something else")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    long_reason = "<" + "x" * MAX_REASON + ">"
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", long_reason, rid="ins-long")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "xxxxxxxx" not in (err.value.details() or "")
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", "tab\there", rid="ins-ctl")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", "court order", cycle=op.status().cycle + 1, rid="ins-cyc")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "ZZ", "court order", rid="ins-unknown")
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    seq = op.declare_insolvency("A", "insolvency filing <court>", request_id="ins-1")
    assert op.declare_insolvency("A", "insolvency filing <court>", request_id="ins-1") == seq  # idempotent
    with pytest.raises(grpc.RpcError) as err:  # the same id for another request
        op.declare_insolvency("B", "insolvency filing <court>", request_id="ins-1")
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as err:
        op.declare_insolvency("A", "again", request_id="ins-2")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # a member's certificate cannot use the operator's RPC
    stub = admin_pb2_grpc.AdminServiceStub(cluster.member("B")._channels[0])
    with pytest.raises(grpc.RpcError) as err:
        stub.DeclareInsolvency(admin_pb2.DeclareInsolvencyRequest(request_id="m-1", cycle=1, member="A",
                                                                  reason="x", operator_signature=b"\0" * 64))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # the default event runs as for a called member
    index = op.open_default()
    op.close_out(index, [500000, 200000])
    reports = op.reports()
    assert [d["member"] for d in reports[-1]["defaulters"]] == ["A"]


def test_cli_declare_insolvency(cluster, capsys, monkeypatch):
    from clearing.cli import main
    from clearing.services import config as services_config

    # the cluster's node listens on a free port, not services.json's
    monkeypatch.setattr(services_config, "endpoint", lambda cfg, name: cluster.clearing_target)
    cluster.onboard()
    cfg = str(cluster.dir)
    assert main(["admin", "--config", cfg, "--request-id", "cli-ins-1", "declare-insolvency", "B",
                 "--reason", "insolvency filing"]) == 0
    first = capsys.readouterr().out
    assert "insolvency declared: ledger event" in first
    # a retry with the same request id prints the recorded event
    assert main(["admin", "--config", cfg, "--request-id", "cli-ins-1", "declare-insolvency", "B",
                 "--reason", "insolvency filing"]) == 0
    assert capsys.readouterr().out == first
    assert cluster.operator().default_event() is not None


def test_sizing_and_cover2_over_grpc(tmp_path):
    """Members file their sized contributions and Cover-2 proofs through the
    prover service and the node; the window's adequacy is public."""
    from clearing.ccp.oracle_df_sizing import cover2_rows
    from support.services import CCP, Cluster

    ccp = dict(CCP, df_size_num=1, df_size_den=4, cover2_tau=2 * 10**7,
               stress_scenarios=[[0, 0], [-20000 * 50, -10000 * 20], [20000 * 50, 10000 * 20]])
    c = Cluster(tmp_path / "cfg", ccp=ccp)
    try:
        c.onboard(cash=10**8, df=10**7)
        op = c.operator()
        with pytest.raises(grpc.RpcError) as err:   # the window waits for the sizing filings
            op.open_epoch()
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        seqs = {}
        for m in c.members:
            seqs[m] = c.member(m).file_sizing(request_id=f"size-{m}")
        # an idempotent retry of a filing returns its event
        assert c.member("A").file_sizing(request_id="size-A") == seqs["A"]
        with pytest.raises(grpc.RpcError) as err:   # a member files only for itself
            c.member("B").clearing.FileSizing(clearing_pb2.FileSizingRequest(
                request_id="x", member="A", epoch=0, signature=b"\0" * 64))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        op.open_epoch()
        report = c.member("B").cover2_report()
        assert report == cover2_rows(2 * 10**7, [3 * 10**7], [0], [report[0]["cycle"]])
        assert report[0]["met"] is False and report[0]["shortfall"] == 10**7
    finally:
        c.stop()
