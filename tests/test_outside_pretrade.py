"""The pre-trade limit's new surfaces (issue 14 §1) tried as an outside
client and an adversary would, through the gRPC services (tests/support/
services.Cluster on port 0): RetryTrade and IntradayRun sent raw, without
the Python client's deadline, with malformed, oversized, foreign or replayed
inputs; a scenario set asking for the limit under another model; the prover's
headroom fields malformed on the wire.  Every answer is a precise gRPC
status with a clear message (client strings echoed capped,
clearing.protocol.errors.shown), nothing is lost, a request id names one
request; a member reads only its own headroom and the node's log lines name
no hidden value.

Numbers (support.services): ESX multiplier 50, settlement price 500,000,
w_ESX = 500,000 per contract.  B has 10^6 of cash, flat (H_B = 10^6): buying
3 ESX from A debits B by 1,500,000 (refused); at an intraday mark of 490,000
the seller B's debit is 0."""
from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from clearing.api import admin_pb2, clearing_pb2, common_pb2, convert, prover_pb2
from clearing.protocol.errors import SHOWN_CHARS, InvalidArgument
from clearing.protocol.intraday import intraday_message
from clearing.protocol.messages import settlement_message
from support.services import INSTRUMENTS, MATRIX, Cluster, events_of, pretrade_cluster
from zkp.generators import generators

PRICES = [i["price0"] for i in INSTRUMENTS]
CASH = {"A": 10**9, "B": 1_000_000, "C": 10**9}
MARKS = [490_000, PRICES[1]]


def _code(fn) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as err:
        fn()
    return err.value.code(), err.value.details()


def _intraday_req(op, marks, run, rid, cycle=None, sign=True) -> admin_pb2.IntradayRunRequest:
    st = op.status()
    cycle = st.cycle if cycle is None else cycle
    sig = op._sign(intraday_message(cycle, run, list(marks), st.scenario_set_id)) if sign else b"\1" * 64
    return admin_pb2.IntradayRunRequest(request_id=rid, cycle=cycle, run=run, marks=list(marks),
                                        operator_signature=sig)


def test_retry_trade_and_intraday_run_from_a_raw_client(tmp_path, caplog):
    """A refused trade asked again over a plain stub with no deadline (a
    grpcurl or Node.js client sets none): the node's push to the prover gets
    its own deadline -- it was DEADLINE_EXCEEDED at once (an infinite
    deadline passed downstream as a huge timeout).  Bad RetryTrade inputs
    are precise statuses, echoed ids capped; nothing is re-pushed by them."""
    caplog.set_level(logging.DEBUG)
    c = Cluster(tmp_path / "cfg", members=tuple(CASH))
    try:
        pretrade_cluster(c, CASH)
        op, A, B, C = c.operator(), c.member("A"), c.member("B"), c.member("C")
        res = c.trade("h1", "A", "B", "ESX", "buy", 3, PRICES[0])
        assert res.status == "pending" and list(res.pretrade_refused) == ["B"]

        def retry(who, tid, member=None):
            return who.clearing_stub.RetryTrade(
                clearing_pb2.RetryTradeRequest(trade_id=tid, member=member or who.name))

        long_id = "x" * 5000
        code, msg = _code(lambda: retry(B, long_id))
        assert code == grpc.StatusCode.NOT_FOUND and "x" * (SHOWN_CHARS + 1) not in msg and len(msg) < 200
        assert _code(lambda: retry(B, ""))[0] == grpc.StatusCode.NOT_FOUND
        code, msg = _code(lambda: retry(B, "h1", member="Z" * 3000))  # acting for another name
        assert code == grpc.StatusCode.PERMISSION_DENIED and len(msg) < 200
        assert _code(lambda: retry(B, "h1", member="A"))[0] == grpc.StatusCode.PERMISSION_DENIED
        assert _code(lambda: retry(C, "h1"))[0] == grpc.StatusCode.PERMISSION_DENIED  # not a side
        # no deadline, still short: a new refusal against the same H (the recorded one: booked once)
        t = retry(B, "h1")
        assert t.status == "pending" and list(t.pretrade_refused) == ["B"]
        t = retry(A, "h1")  # either side may ask
        assert t.status == "pending" and list(t.pretrade_refused) == ["B"]
        assert len(events_of(c, "pretrade-refusal")) == 1
        # an intraday run, also without a deadline: B's debit at the mark is 0
        done = op.admin._stub.IntradayRun(_intraday_req(op, MARKS, 1, "raw-intraday"))
        assert dict(done.results) == {"A": "pass", "B": "pass", "C": "pass"}
        assert op.status().intraday_run == 1
        with ThreadPoolExecutor(4) as pool:  # both sides ask at once, twice each: one novation
            answers = list(pool.map(lambda who: retry(who, "h1"), (A, B, A, B)))
        assert {t.status for t in answers} == {"novated"}
        assert [r["trade_id"] for r in events_of(c, "receipt")].count("h1") == 1
        code, msg = _code(lambda: retry(A, "h1"))  # novated: nothing to retry
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "novated" in msg
        # a trade that was never refused
        assert c.trade("h2", "A", "C", "ESX", "buy", 1, MARKS[0]).status == "novated"
        assert _code(lambda: retry(C, "h2"))[0] == grpc.StatusCode.FAILED_PRECONDITION
        # privacy: a member reads its own headroom only; the node's and prover's log lines name no H
        code, _ = _code(lambda: A.prover.GetBalances(common_pb2.MemberRequest(member="B")))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        code, _ = _code(lambda: op.clearing.RetryTrade(clearing_pb2.RetryTradeRequest(trade_id="h1", member="B")))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        h_a = A.balances()["headroom"]  # hidden: after two novations against A's reset H
        assert 0 < h_a < CASH["A"]
        hidden = {str(h_a), f"{h_a:,}", hex(h_a)}
        for rec in caplog.records:
            line = rec.getMessage()
            assert not any(h in line for h in hidden), line
    finally:
        c.stop()


def test_intraday_run_inputs_and_replays(tmp_path):
    """Marks of the wrong count, zero, above the price bound or beyond
    uint63, run 0 or 2^32-1, another cycle, a bad signature: precise
    statuses, nothing booked.  A request id names one request: the same id
    with other marks or another run after the run was booked was answered
    with the first run's results (the operator believing its new marks
    applied); now ALREADY_EXISTS, and the true replay still replays."""
    c = Cluster(tmp_path / "cfg", members=tuple(CASH))
    try:
        pretrade_cluster(c, CASH)
        op = c.operator()
        run = op.admin.IntradayRun
        bad = [
            (_intraday_req(op, MARKS[:1], 1, "i-count"), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, [0, PRICES[1]], 1, "i-zero"), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, [2**62, PRICES[1]], 1, "i-big"), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, [2**63, PRICES[1]], 1, "i-huge", sign=False), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, [2**64 - 1, PRICES[1]], 1, "i-max", sign=False), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, [490_001, PRICES[1]], 1, "i-tick"), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, MARKS, 0, "i-run0"), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, MARKS, 2**32 - 1, "i-runmax"), grpc.StatusCode.FAILED_PRECONDITION),
            (_intraday_req(op, MARKS, 1, "i-cycle", cycle=op.status().cycle + 5), grpc.StatusCode.FAILED_PRECONDITION),
            (_intraday_req(op, MARKS, 1, "i-sig", sign=False), grpc.StatusCode.INVALID_ARGUMENT),
            (_intraday_req(op, MARKS, 1, "r" * 5000), grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for req, want in bad:
            code, msg = _code(lambda: run(req, timeout=op.prove_timeout))
            assert code == want, (req.request_id[:10], code, msg)
            assert len(msg) <= 200
        assert events_of(c, "intraday") == []
        first = dict(run(_intraday_req(op, MARKS, 1, "i-ok"), timeout=op.prove_timeout).results)
        assert dict(run(_intraday_req(op, MARKS, 1, "i-ok"), timeout=op.prove_timeout).results) == first
        for other in (_intraday_req(op, [480_000, PRICES[1]], 1, "i-ok"), _intraday_req(op, MARKS, 2, "i-ok")):
            code, msg = _code(lambda: run(other, timeout=op.prove_timeout))
            assert code == grpc.StatusCode.ALREADY_EXISTS, (code, msg)
        assert [e["marks"] for e in events_of(c, "intraday")] == [MARKS]
        assert len(events_of(c, "intraday-batch")) == 1
        # a member may not run one, nor ask the prover for a batch
        B = c.member("B")
        code, _ = _code(lambda: B.prover.ProveIntraday(prover_pb2.ProveIntradayRequest(cycle=1, run=2)))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        # a pre-trade set under the ES model: refused by the node, not only by the client
        st = op.status()
        ss = admin_pb2.ScenarioSet(rows=[admin_pb2.ScenarioSet.Row(pnl=r) for r in MATRIX], model="es", k=2,
                                   pretrade=True)
        req = admin_pb2.SettleRequest(request_id="s-es", cycle=st.cycle, prices=PRICES, scenario_set=ss,
                                      operator_signature=op._sign(settlement_message(st.cycle, PRICES, b"\0" * 32)))
        code, msg = _code(lambda: op.admin.Settle(req))
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "scan model only" in msg
    finally:
        c.stop()


@pytest.mark.parametrize("data", [b"", b"\1" * 31, b"\1" * 33, b"\xff" * 32])
def test_malformed_headroom_points_on_the_wire(data):
    """The prover's headroom fields (MarginEntry.headroom, Receipt.h_buyer /
    h_seller) of the wrong length or off the curve, or with an empty proof,
    are INVALID_ARGUMENT (ConversionError) -- never an internal error."""
    good = generators().commit(5, 7).encode()
    entry = common_pb2.MarginEntry(member="A", ctx_seq=1, proof=b"\1", headroom=data, headroom_proof=b"\1")
    with pytest.raises(InvalidArgument):
        convert.margin_entries(common_pb2.MarginBatch(cycle=1, entries=[entry]))
    for field in ("h_buyer", "h_seller"):
        rc = prover_pb2.Receipt(trade_id="t", signature=b"\1" * 64, h_buyer=good, h_seller=good,
                                headroom_proof=b"\1")
        setattr(rc, field, data)
        with pytest.raises(InvalidArgument):
            convert.receipt_headroom(rc)
    no_proof = common_pb2.MarginEntry(member="A", ctx_seq=1, proof=b"\1", headroom=good)
    with pytest.raises(InvalidArgument):
        convert.margin_entries(common_pb2.MarginBatch(cycle=1, entries=[no_proof]))
    rc = prover_pb2.Receipt(trade_id="t", signature=b"\1" * 64, h_buyer=good, h_seller=good)
    with pytest.raises(InvalidArgument):
        convert.receipt_headroom(rc)


def test_demo_help_names_every_packaged_scenario():
    """``zkclear demo --help`` lists the packaged scenarios an outside user
    may pick by name -- it left out ``pretrade`` (README: ``--scenario
    bad-debt|liquidation|cover2|pretrade``)."""
    import argparse

    from clearing.demo.run import configure
    from clearing.demo.scenarios import PACKAGED

    parser = argparse.ArgumentParser()
    configure(parser)
    [action] = [a for a in parser._actions if "--scenario" in a.option_strings]
    for name in PACKAGED:
        if not name.startswith("ccp-"):
            assert name in action.help, name


def test_console_errors_are_one_line(tmp_path, capsys):
    """``zkclear admin intraday`` before any settle and ``admin settle
    --pretrade`` of an ES set: one line on stderr, exit 1, no traceback, and
    nothing booked."""
    from clearing import cli

    c = Cluster(tmp_path / "cfg", members=("A", "B", "C"))
    try:
        c.operator().admit_all()
        services = c.dir / "services.json"
        cfg = json.loads(services.read_text())
        cfg["endpoints"]["clearing"] = c.clearing_target
        services.write_text(json.dumps(cfg))
        es = tmp_path / "es.json"
        es.write_text(json.dumps({"version": 0, "matrix": MATRIX, "model": {"kind": "es", "k": 2}}))
        prices = ",".join(map(str, PRICES))
        for argv in (["intraday", "--marks", prices],
                     ["settle", "--prices", prices, "--scenario-set", str(es), "--pretrade"]):
            code = cli.main(["admin", "--config", str(c.dir), *argv])
            err = capsys.readouterr().err
            assert code == 1, err
            assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert events_of(c, "settle") == [] and events_of(c, "intraday") == []
    finally:
        c.stop()
