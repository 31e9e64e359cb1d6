"""Issue 14 §2 over gRPC: a settlement under maintenance terms (ScenarioSet
maintenance fields), the margin run's tiers (pass / call / liquidate), the
operator's liquidation (AdminService.Liquidate): a bad signature is
INVALID_ARGUMENT, a member that did not fail maintenance FAILED_PRECONDITION,
a retry with the same request id replays the recorded event, the same id for
another member is ALREADY_EXISTS, a member's certificate PERMISSION_DENIED;
then the default event discloses and closes out the member, the penalty
goes to the insurance fund and the member keeps its remainder (it may
withdraw); the CLI's ``admin liquidate`` and ``settle --maintenance``."""
from __future__ import annotations

import json

import grpc
import pytest

from clearing.api import admin_pb2, admin_pb2_grpc
from clearing.protocol.messages import liquidation_message
from support.services import MATRIX, P0

TERMS = {"num": 4, "den": 5, "penalty_bps": 50}
DF = 1_000_000


def _raw(op, member, *, rid="liq-x", sig_member=None, cycle=None):
    cycle = op.status().cycle if cycle is None else cycle
    sig = op._sign(liquidation_message(cycle, sig_member or member, rid))
    return op.admin.Liquidate(admin_pb2.LiquidateRequest(request_id=rid, cycle=cycle, member=member,
                                                         operator_signature=sig))


def _setup(cluster, cash_a=3_000_000):
    """A long 10 ESX from B (IM 5,000,000; maintenance at 0.8: 4,000,000)."""
    op = cluster.operator()
    op.admit_all()
    for m, cash in (("A", cash_a), ("B", 10**9), ("C", 10**9)):
        p = cluster.member(m)
        p.deposit(cash + DF, request_id=f"dep0-{m}")
        p.fund(DF, request_id=f"df0-{m}")
    cluster.trade("t1", "A", "B", "ESX", "buy", 10, P0[0])
    return op


def test_liquidation_over_grpc(cluster):
    op = _setup(cluster)
    op.settle(P0, MATRIX, maintenance_terms=TERMS)
    assert op.run_margin() == {"A": "liquidate", "B": "pass", "C": "pass"}
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", sig_member="B")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "B", rid="liq-b")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as err:
        _raw(op, "A", cycle=op.status().cycle + 1, rid="liq-cyc")
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    seq = op.liquidate("A", request_id="liq-1")
    assert op.liquidate("A", request_id="liq-1") == seq  # idempotent retry
    with pytest.raises(grpc.RpcError) as err:
        op.liquidate("B", request_id="liq-1")
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    stub = admin_pb2_grpc.AdminServiceStub(cluster.member("B")._channels[0])
    with pytest.raises(grpc.RpcError) as err:
        stub.Liquidate(admin_pb2.LiquidateRequest(request_id="m-1", cycle=1, member="A",
                                                  operator_signature=b"\0" * 64))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    index = op.open_default()
    assert op.close_out(index, [P0[0] - 2000, P0[1]]) == {}
    assert op.reports() == []  # the member kept a remainder: no default report
    assert cluster.member("A").balances()["cash"] == 755_000  # 3,000,000 - 1,000,000 - 1,245,000
    op.close_cycle()
    op.settle(P0, MATRIX, version=1, maintenance_terms=TERMS)
    assert op.run_margin()["A"] == "pass"
    cluster.member("A").withdraw(755_000, request_id="wd-A")


def test_cli_settle_with_maintenance_and_liquidate(cluster, capsys, monkeypatch):
    from clearing.cli import main
    from clearing.services import config as services_config

    monkeypatch.setattr(services_config, "endpoint", lambda cfg, name: cluster.clearing_target)
    _setup(cluster)
    cfg = str(cluster.dir)
    sset = cluster.dir / "set.json"
    sset.write_text(json.dumps({"version": 0, "matrix": MATRIX}))
    prices = ["--prices", ",".join(map(str, P0)), "--scenario-set", str(sset)]
    assert main(["admin", "--config", cfg, "settle", *prices, "--maintenance", "0.8", "--penalty-bps", "50"]) == 0
    assert main(["admin", "--config", cfg, "margin"]) == 0
    assert "A: liquidate" in capsys.readouterr().out
    assert main(["admin", "--config", cfg, "--request-id", "cli-liq-1", "liquidate", "A"]) == 0
    first = capsys.readouterr().out
    assert "liquidated: ledger event" in first
    assert main(["admin", "--config", cfg, "--request-id", "cli-liq-1", "liquidate", "A"]) == 0
    assert capsys.readouterr().out == first
    assert main(["admin", "--config", cfg, "settle", *prices, "--penalty-bps", "50"]) != 0
    assert main(["admin", "--config", cfg, "settle", *prices, "--maintenance", "1.5"]) != 0
    assert "maintenance ratio" in capsys.readouterr().err
