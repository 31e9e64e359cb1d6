"""Retries with the same request id replay the recorded result, whatever
happened since (issue 11, items 2 and 3), through the in-process services
and the CLI; the clients' own retries of UNAVAILABLE / RESOURCE_EXHAUSTED
(:mod:`clearing.clients.retry`)."""
from __future__ import annotations

import json
import socket
import threading
import time

import grpc
import pytest

from clearing import cli
from clearing.clients import retry
from clearing.clients.participant import Participant, TradeRejected
from clearing.services import clearing_service
from clearing.services import config as services_config
from clearing.services.pki import load_identity
from support.services import MATRIX, P0, Cluster

S = grpc.StatusCode


def code_of(fn, *a, **kw):
    with pytest.raises(grpc.RpcError) as err:
        fn(*a, **kw)
    return err.value.code()


def events(c: Cluster, kind: str, request_id: str | None = None) -> list[dict]:
    return [b for _, b in c.clearing.resource.run(lambda e: e.events())
            if b["kind"] == kind and (request_id is None or b.get("request_id") == request_id)]


def close_cycle(c: Cluster) -> None:
    op = c.operator()
    op.settle(P0, MATRIX)
    op.run_margin()
    op.close_cycle()


# -- trades and affirmations ------------------------------------------------------------
def test_retried_trade_and_affirmation_replay_their_results(cluster):
    cluster.onboard()
    a, b = cluster.member("A"), cluster.member("B")
    first = a.trade("t1", "B", "ESX", "buy", 3, 500000, request_id="tr-1")
    # a retry builds a fresh T, proof and sealed openings: the recorded trade stands
    again = a.trade("t1", "B", "ESX", "buy", 3, 500000, request_id="tr-1")
    assert (again.seq, again.trade.commitment) == (first.seq, first.trade.commitment)
    # the id names that trade: another trade under it is refused
    assert code_of(a.trade, "t2", "B", "ESX", "buy", 3, 500000, request_id="tr-1") == S.ALREADY_EXISTS
    assert code_of(a.trade, "t1", "B", "ESX", "buy", 3, 500025, request_id="tr-1") == S.ALREADY_EXISTS
    assert len(events(cluster, "trade")) == 1

    res = b.affirm("t1", expect={"quantity": 3}, request_id="af-1")
    assert res.status == "novated"
    # the trade is no longer offered to B: a retry replays the recorded affirmation
    again = b.affirm("t1", expect={"quantity": 3}, request_id="af-1")
    assert (again.seq, again.status) == (res.seq, "novated")
    # ... from a new client too (a new process: nothing remembered locally)
    with Participant(load_identity(cluster.dir, "B"), cluster.roster, cluster.clearing_target,
                     cluster.prover_target) as fresh:
        assert fresh.affirm("t1", request_id="af-1").seq == res.seq
    # without the id it is no retry; under another id the node refuses
    with pytest.raises(TradeRejected):
        b.affirm("t1")
    assert code_of(b.affirm, "t1", request_id="af-2") == S.FAILED_PRECONDITION
    # only the counterparty's retry is sent
    with pytest.raises(TradeRejected):
        a.affirm("t1", request_id="af-1")
    assert len(events(cluster, "affirm")) == 1
    assert a.balances()["pos"] == [3, 0] and b.balances()["pos"] == [-3, 0]


# -- money and cycle control after the ledger moved on ------------------------------------
def test_retries_after_the_cycle_moved_on(cluster):
    cluster.onboard()
    a, op = cluster.member("A"), cluster.operator()
    cash0 = a.balances()["cash"]
    dep = a.deposit(1000, request_id="dep-x")
    ccp = op.set_ccp_parameters(5, 6, 2, request_id="ccp-x")
    settle = op.settle(P0, MATRIX, request_id="settle-x")
    op.run_margin()
    d1 = op.close_cycle(request_id="close-x")
    assert op.status().cycle == 2
    # the retried close (no cycle given: the client now derives cycle 2) gets cycle 1's digest
    assert op.close_cycle(request_id="close-x") == d1
    assert op.status().cycle == 2 and len(op.status().digests) == 1
    # signed for cycle 2 now, the same requests replay
    assert a.deposit(1000, request_id="dep-x") == dep
    assert op.set_ccp_parameters(5, 6, 2, request_id="ccp-x") == ccp
    assert op.settle(P0, MATRIX, request_id="settle-x") == settle
    # ... but not other requests under the same ids
    assert code_of(a.deposit, 2000, request_id="dep-x") == S.ALREADY_EXISTS
    assert code_of(op.set_ccp_parameters, 5, 6, 3, request_id="ccp-x") == S.ALREADY_EXISTS
    assert a.balances()["cash"] == cash0 + 1000
    assert [len(events(cluster, k)) for k in ("deposit", "ccp-params", "settle", "close")] == [4, 1, 1, 1]


def test_retried_withdrawal_replays_although_the_prover_now_refuses(cluster):
    cluster.onboard()
    cluster.operator().settle(P0, MATRIX)  # withdrawals need the cycle's scenario set
    a = cluster.member("A")
    cash = a.balances()["cash"]
    seq = a.withdraw(cash - 1000, request_id="wd-all")
    # proving cash - amount >= 0 again fails now (cash is 1000): the node's record answers
    assert a.withdraw(cash - 1000, request_id="wd-all") == seq
    assert a.balances()["cash"] == 1000
    assert len(events(cluster, "withdraw")) == 1
    # a fresh request of the same size is refused, and nothing is applied
    assert code_of(a.withdraw, cash - 1000, request_id="wd-again") == S.FAILED_PRECONDITION
    assert a.balances()["cash"] == 1000


def test_a_request_without_proof_is_answered_only_from_the_record(cluster):
    """What the client's retry relies on: the node answers a recorded id
    first, and an unrecorded one without a proof applies nothing."""
    from clearing.api import clearing_pb2
    from clearing.protocol.messages import withdrawal_message

    cluster.onboard()
    a = cluster.member("A")
    sig = a._sign(withdrawal_message("A", 5, 1, "wd-none"))
    req = clearing_pb2.WithdrawRequest(request_id="wd-none", member="A", amount=5, cycle=1, signature=sig)
    assert code_of(a.clearing.Withdraw, req) == S.INVALID_ARGUMENT
    assert events(cluster, "withdraw") == []


# -- deadlines ---------------------------------------------------------------------------
def test_deposit_after_deadline_exceeded_retried_with_the_same_id_applies_once(cluster):
    cluster.onboard()
    a = cluster.member("A")
    cash0 = a.balances()["cash"]
    # a 0.1 ms deadline is usually missed, not always (1 ms was met by all 8 calls once, on an idle machine,
    # and the test had nothing to retry): calls go on until one missed it
    hurried = Participant(load_identity(cluster.dir, "A"), cluster.roster, cluster.clearing_target, timeout=0.0001)
    rids: list[str] = []
    exceeded = []
    try:
        for k in range(64):  # at least 8 calls, and on until one of them saw its deadline pass
            if k >= 8 and exceeded:
                break
            rid = f"dep-100us-{k}"
            rids.append(rid)
            try:
                hurried.deposit(7, request_id=rid, cycle=1)  # a deadline may still be met
            except grpc.RpcError as exc:
                assert exc.code() == S.DEADLINE_EXCEEDED  # never retried by the client itself
                exceeded.append(rid)
    finally:
        hurried.close()
    assert exceeded
    time.sleep(0.2)  # calls the node had started are finished
    applied = sum(len(events(cluster, "deposit", rid)) for rid in exceeded)
    for rid in rids:
        a.deposit(7, request_id=rid)  # the retry: same id, the cycle derived anew
    for rid in rids:
        assert len(events(cluster, "deposit", rid)) == 1
    assert a.balances()["cash"] == cash0 + 7 * len(rids)
    print(f"{applied} of {len(exceeded)} deposits were applied although their client saw DEADLINE_EXCEEDED")


# -- the client's own retries --------------------------------------------------------------
class Failure(grpc.RpcError):
    def __init__(self, code, details=""):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


def test_call_with_retry_resends_the_same_request_on_transient_failures():
    seen = []

    def fn(request, timeout=None):
        seen.append((request, timeout))
        if len(seen) < 3:
            raise Failure(S.UNAVAILABLE if len(seen) == 1 else S.RESOURCE_EXHAUSTED)
        return "ok"

    req = object()
    assert retry.call_with_retry(fn, req, 10.0, sleep=lambda s: None) == "ok"
    assert [r for r, _ in seen] == [req] * 3
    assert all(0 < t <= 10.0 for _, t in seen)


@pytest.mark.parametrize("code,details", [(S.DEADLINE_EXCEEDED, ""), (S.FAILED_PRECONDITION, ""),
                                          (S.INVALID_ARGUMENT, ""), (S.ALREADY_EXISTS, ""),
                                          (S.RESOURCE_EXHAUSTED, "Received message larger than max (5 vs. 4)")])
def test_call_with_retry_does_not_retry_other_failures(code, details):
    calls = []

    def fn(request, timeout=None):
        calls.append(request)
        raise Failure(code, details)

    with pytest.raises(Failure):
        retry.call_with_retry(fn, "req", 10.0, sleep=lambda s: None)
    assert len(calls) == 1


def test_call_with_retry_is_bounded_by_attempts_and_deadline():
    calls, pauses = [], []

    def fn(request, timeout=None):
        calls.append(timeout)
        raise Failure(S.UNAVAILABLE)

    with pytest.raises(Failure):
        retry.call_with_retry(fn, "req", None, sleep=pauses.append)
    assert len(calls) == retry.ATTEMPTS and len(pauses) == retry.ATTEMPTS - 1
    assert all(0 <= p <= min(retry.MAX_DELAY, retry.BASE_DELAY * 2 ** k) for k, p in enumerate(pauses))
    now = [0.0]
    calls.clear()

    def sleep(s):
        now[0] += s

    def slow(request, timeout=None):
        calls.append(timeout)
        now[0] += 0.4
        raise Failure(S.UNAVAILABLE)

    with pytest.raises(Failure):
        retry.call_with_retry(slow, "req", 1.0, sleep=sleep, clock=lambda: now[0], attempts=100)
    assert len(calls) < 4 and now[0] <= 1.0 + 0.4


def test_a_deposit_sent_while_the_node_is_down_is_applied_once_it_is_back(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = Cluster(tmp_path / "cfg")
    c.onboard()
    cfg = c.dir
    c.stop()
    srv, _ = clearing_service.create_server(cfg, port=port)
    srv.stop(0)  # the ledger, now on a known port: down
    started = []

    def come_back():
        time.sleep(0.5)
        started.append(clearing_service.create_server(cfg, port=port)[0])

    p = Participant(load_identity(cfg, "A"), c.roster, f"127.0.0.1:{port}", timeout=20)
    p.clearing.attempts = 30
    t = threading.Thread(target=come_back)
    t.start()
    try:
        seq = p.deposit(11, request_id="dep-down", cycle=1)
        t.join()
        eng = started[0].resource
        assert [b["request_id"] for _, b in eng.run(lambda e: e.events()) if b["kind"] == "deposit"].count(
            "dep-down") == 1
        assert eng.run(lambda e: e.recorded("A", "dep-down"))["seq"] == seq
    finally:
        t.join()
        p.close()
        for s in started:
            s.stop(0)


# -- the CLI -----------------------------------------------------------------------------
def zk(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_retries_with_the_same_request_id(cluster, capsys):
    path = cluster.dir / services_config.SERVICES_FILE
    data = json.loads(path.read_text())
    data["endpoints"].update(clearing=cluster.clearing_target, prover=cluster.prover_target)
    path.write_text(json.dumps(data))
    cluster.onboard()
    cfg = ["--config", str(cluster.dir)]
    trade = ["participant", *cfg, "--name", "A", "trade", "--id", "t9", "--with", "B", "--instrument", "ESX",
             "--side", "buy", "--qty", "2", "--price", "500000", "--request-id", "cli-tr"]
    first = zk(capsys, *trade)
    assert first[0] == 0 and "t9: pending" in first[1]
    assert zk(capsys, *trade) == first
    affirm = ["participant", *cfg, "--name", "B", "affirm", "t9", "--qty", "2", "--request-id", "cli-af"]
    first = zk(capsys, *affirm)
    assert first[0] == 0 and "t9: novated" in first[1]
    assert zk(capsys, *affirm) == first
    op = cluster.operator()
    op.settle(P0, MATRIX)
    op.run_margin()
    close = ["admin", *cfg, "close", "--request-id", "cli-close"]
    first = zk(capsys, *close)
    assert first[0] == 0 and "digest" in first[1]
    assert zk(capsys, *close) == first
    assert len(op.status().digests) == 1
    assert [len(events(cluster, k)) for k in ("trade", "affirm", "close")] == [1, 1, 1]
