"""Thin members (issue 15): the prover service makes a member's trade
commitment, proof and sealed openings (PrepareTrade) and checks a pending
trade's opening for its counterparty (CheckAffirmation), so the member needs
no curve code.  End to end with thick and thin counterparties, the recorded
answer (one commitment per trade id, across a prover restart), who may ask,
the status of every refusal, and no quantity in logs or reprs."""
from __future__ import annotations

import errno
import logging
import os
import threading

import grpc
import pytest

from clearing.api import clearing_pb2, common_pb2, convert, prover_pb2
from clearing.clients import Participant, ThinParticipant, TradeRejected
from clearing.clients import participant as participant_mod
from clearing.protocol import signing
from clearing.protocol.messages import affirmation_message, trade_message, trade_tuple
from clearing.protocol.relay import SEALED_OPENING_BYTES
from clearing.services.pki import load_identity
from prover.custody import thin as thin_mod
from support.services import INSTRUMENTS, MATRIX, Cluster

S = grpc.StatusCode
QTY = 765_431  # distinctive, to look for in logs
PRICE = 500_000


@pytest.fixture(scope="module")
def c(tmp_path_factory):
    cl = Cluster(tmp_path_factory.mktemp("thin") / "cfg")
    try:
        cl.onboard()
        yield cl
    finally:
        cl.stop()


def thin(c: Cluster, name: str) -> ThinParticipant:
    key = f"thin:{name}"
    if key not in c._clients:
        c._clients[key] = ThinParticipant(load_identity(c.dir, name), c.roster, c.clearing_target, c.prover_target)
    return c._clients[key]


def code_of(fn, *a, **kw):
    with pytest.raises(grpc.RpcError) as err:
        fn(*a, **kw)
    return err.value.code(), err.value.details()


def prepare(p: Participant, **over):
    req = dict(request_id="prep-1", member=p.name, trade_id="tx-1", cycle=p.ledger_status().cycle,
               counterparty="B", instrument="ESX", side=common_pb2.SIDE_BUY, price=PRICE, quantity=QTY)
    req.update(over)
    return p._prover().PrepareTrade(prover_pb2.PrepareTradeRequest(**req))


def test_thin_initiator_with_a_thick_counterparty_and_back(c, caplog):
    caplog.set_level(logging.DEBUG)
    a, b = thin(c, "A"), c.member("B")
    before_a, before_b = a.balances()["pos"][0], b.balances()["pos"][0]
    st = a.trade("thin-1", "B", "ESX", "buy", QTY, PRICE)
    assert st.status == "novated" or st.status == "pending"
    # the thick counterparty decrypts the copy the prover sealed to it and checks it against T
    res = b.affirm("thin-1", expect={"quantity": QTY, "price": PRICE, "side": "buy"})
    assert res.status == "novated"
    assert a.balances()["pos"][0] == before_a + QTY and b.balances()["pos"][0] == before_b - QTY
    # a thick initiator, the thin counterparty checks through the prover
    c.member("C").trade("thick-1", "A", "ESX", "sell", QTY + 1, PRICE)
    pend = [x for x in a.pending() if x.trade["trade_id"] == "thick-1"]
    assert [x.quantity for x in pend] == [QTY + 1]
    assert repr(pend[0]).count(str(QTY + 1)) == 0
    with pytest.raises(TradeRejected, match="quantity differs"):
        a.affirm("thick-1", expect={"quantity": QTY})
    assert a.affirm("thick-1", expect={"quantity": QTY + 1, "price": PRICE}).status == "novated"
    assert a.balances()["pos"][0] == before_a + 2 * QTY + 1
    # nothing secret in logs or reprs; the witness log names the thin steps
    assert str(QTY) not in caplog.text and str(QTY + 1) not in caplog.text
    assert "PrepareTrade by member/A: OK" in caplog.text and "CheckAffirmation by member/A: OK" in caplog.text
    assert "witness: thin-trade A cycle 1: prepared" in caplog.text
    assert "witness: thin-check A cycle 1: checked" in caplog.text


def test_thin_on_both_sides_needs_no_relay_key(c, monkeypatch):
    def no_decryption(*a, **kw):
        raise AssertionError("a thin member never opens a sealed opening")

    monkeypatch.setattr(participant_mod, "open_opening", no_decryption)
    a, b = thin(c, "A"), thin(c, "B")
    a.trade("thin-2", "B", "RTX", "sell", 7, 200_000)
    assert [x.quantity for x in b.pending() if x.trade["trade_id"] == "thin-2"] == [7]
    assert b.affirm("thin-2", expect={"quantity": 7, "counterparty": "A"}).status == "novated"
    assert a.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="thin-2")).status == "novated"


def test_prepare_trade_answers(c):
    a = thin(c, "A")
    got = prepare(a)
    assert len(got.sealed_counterparty) == len(got.sealed_prover) == SEALED_OPENING_BYTES
    assert got.trade.buyer == "A" and got.trade.seller == "B" and got.trade.side == common_pb2.SIDE_BUY
    assert trade_tuple(convert.trade(got.trade)) == got.trade_tuple
    # a retry, under the same or another request id: the recorded answer, never a second T
    assert prepare(a) == got
    assert prepare(a, request_id="prep-1b") == got
    # other terms under the trade id, or the request id for another trade
    assert code_of(prepare, a, quantity=QTY + 1)[0] == S.ALREADY_EXISTS
    assert code_of(prepare, a, price=PRICE + 25)[0] == S.ALREADY_EXISTS
    assert code_of(prepare, a, trade_id="tx-2")[0] == S.ALREADY_EXISTS
    # a trade id the ledger already holds
    c.member("C").trade("held-1", "B", "ESX", "sell", 1, PRICE)
    c.member("B").affirm("held-1")
    assert code_of(prepare, a, trade_id="held-1", request_id="prep-3")[0] == S.ALREADY_EXISTS
    # the record (it holds the quantity) is sealed at rest, and survives a prover restart
    db = c.prover.resource.store.path
    raw = b"".join(open(f, "rb").read() for f in (db, db + "-wal") if os.path.exists(f))
    assert b"thin-trade" in raw and str(QTY).encode() not in raw  # the step name is public, its answer sealed
    c.restart_prover()
    a = thin(c, "A")
    assert prepare(a) == got
    # and the prepared trade books like any other
    t = convert.trade(got.trade)
    sig = signing.sign(a.identity.ed25519_private, "trade", [])  # wrong tuple: refused by the node
    req = clearing_pb2.SubmitTradeRequest(request_id="prep-1", trade=got.trade, proof=got.proof, signature=sig,
                                          sealed_counterparty=got.sealed_counterparty,
                                          sealed_prover=got.sealed_prover)
    assert code_of(a.clearing.SubmitTrade, req)[0] == S.INVALID_ARGUMENT
    req.signature = signing.sign(a.identity.ed25519_private, *trade_message(t))
    assert a.clearing.SubmitTrade(req).status in ("pending", "novated")
    assert thin(c, "B").affirm("tx-1", expect={"quantity": QTY}).status == "novated"


@pytest.mark.parametrize("over, code", [
    ({"quantity": 0}, S.INVALID_ARGUMENT),
    ({"quantity": 1 << 32}, S.INVALID_ARGUMENT),
    ({"side": common_pb2.SIDE_UNSPECIFIED}, S.INVALID_ARGUMENT),
    ({"counterparty": "A"}, S.INVALID_ARGUMENT),
    ({"trade_id": "bad id!"}, S.INVALID_ARGUMENT),
    ({"request_id": ""}, S.INVALID_ARGUMENT),
    ({"price": 0}, S.INVALID_ARGUMENT),
    ({"price": PRICE + 1}, S.INVALID_ARGUMENT),  # off the instrument's tick (25): the node would refuse it
    ({"cycle": 99}, S.FAILED_PRECONDITION),
    ({"counterparty": "Z"}, S.FAILED_PRECONDITION),
    ({"instrument": "NOPE"}, S.NOT_FOUND),
    ({"member": "B"}, S.PERMISSION_DENIED),
])
def test_prepare_trade_refusals(c, over, code):
    over = {"trade_id": "tx-refused", "request_id": "prep-refused", **over}
    got, details = code_of(prepare, thin(c, "A"), **over)
    assert got == code, details
    assert str(QTY) not in details


def test_check_affirmation_refusals(c):
    a, b = thin(c, "A"), thin(c, "B")
    a.trade("thin-3", "B", "ESX", "buy", 3, PRICE)

    def check(p, tid="thin-3", member=None):
        return p._prover().CheckAffirmation(prover_pb2.CheckAffirmationRequest(member=member or p.name,
                                                                                trade_id=tid))

    got = check(b)
    assert got.quantity == 3
    assert got.affirmation_tuple == signing.encode_tuple(*affirmation_message(convert.trade(got.trade), "B"))
    assert code_of(check, a)[0] == S.PERMISSION_DENIED            # the initiator
    assert code_of(check, thin(c, "C"))[0] == S.PERMISSION_DENIED  # a third member
    assert code_of(check, a, member="B")[0] == S.PERMISSION_DENIED  # for another member
    assert code_of(check, b, tid="no-such")[0] == S.NOT_FOUND
    assert code_of(check, b, tid="bad id!")[0] == S.INVALID_ARGUMENT
    b.affirm("thin-3")
    assert code_of(check, b)[0] == S.FAILED_PRECONDITION  # novated: nothing to check


def test_thin_client_refuses_a_prover_answer_that_differs(c, monkeypatch):
    a, b = thin(c, "A"), thin(c, "B")
    real = a.prover._stub.PrepareTrade

    def lying(req, **kw):
        got = real(req, **kw)
        got.trade.price += 25
        return got

    monkeypatch.setattr(a.prover._stub, "PrepareTrade", lying)
    with pytest.raises(TradeRejected, match="differs from the terms"):
        a.make_trade("thin-4", "B", "ESX", "buy", 5, PRICE)
    monkeypatch.undo()

    def bad_tuple(req, **kw):
        got = real(req, **kw)
        got.trade_tuple = got.trade_tuple[:-1] + b"\x00"
        return got

    monkeypatch.setattr(a.prover._stub, "PrepareTrade", bad_tuple)
    with pytest.raises(TradeRejected, match="not the trade row's encoding"):
        a.make_trade("thin-4", "B", "ESX", "buy", 5, PRICE)
    monkeypatch.undo()
    a.trade("thin-4", "B", "ESX", "buy", 5, PRICE)
    real_check = b.prover._stub.CheckAffirmation

    def other_row(req, **kw):
        got = real_check(req, **kw)
        got.trade.price += 25
        return got

    monkeypatch.setattr(b.prover._stub, "CheckAffirmation", other_row)
    assert [x for x in b.pending() if x.trade["trade_id"] == "thin-4"] == []
    with pytest.raises(TradeRejected, match="another trade row"):
        b.affirm("thin-4")
    monkeypatch.undo()
    assert b.affirm("thin-4", expect={"quantity": 5}).status == "novated"


def test_check_affirmation_before_the_prover_holds_the_opening(c, monkeypatch):
    """The node pushes the opening with the trade; until the prover holds it,
    CheckAffirmation is UNAVAILABLE (clients retry), then answers."""
    c.member("C").trade("early-1", "B", "ESX", "sell", 11, PRICE)
    b = thin(c, "B")
    w = c.prover.resource.witness
    T = b.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="early-1")).trade.commitment.hex()
    monkeypatch.delitem(w._known, T)  # as if the push were still on its way
    req = prover_pb2.CheckAffirmationRequest(member="B", trade_id="early-1")
    code, details = code_of(b.prover._stub.CheckAffirmation, req, timeout=30)
    assert code == S.UNAVAILABLE and "retry" in details
    monkeypatch.undo()
    assert b.prover._stub.CheckAffirmation(req, timeout=30).quantity == 11
    assert b.affirm("early-1", expect={"quantity": 11}).status == "novated"


def test_fresh_commitments_for_equal_quantities(c):
    a = thin(c, "A")
    one = prepare(a, trade_id="same-q-1", request_id="same-q-1")
    two = prepare(a, trade_id="same-q-2", request_id="same-q-2")
    assert one.trade.commitment != two.trade.commitment
    assert one.sealed_prover != two.sealed_prover and one.proof != two.proof


def test_a_refused_trade_id_stays_free(c):
    """A refusal records nothing: the trade id can be prepared afterwards
    with corrected terms (an off-tick price is refused here, as the node
    would refuse it, not burnt into the one commitment per trade id)."""
    a = thin(c, "A")
    assert code_of(prepare, a, trade_id="fix-1", request_id="fix-1", price=PRICE + 1)[0] == S.INVALID_ARGUMENT
    assert prepare(a, trade_id="fix-1", request_id="fix-1").trade.price == PRICE


def test_prepare_refuses_what_the_node_would_refuse(c, monkeypatch):
    """A counterparty called or defaulted, or the trade-count bound reached:
    FAILED_PRECONDITION before any commitment is made or recorded."""
    a = thin(c, "A")
    w = c.prover.resource.witness
    monkeypatch.setattr(w.state.members["B"], "status", "called")
    got, details = code_of(prepare, a, trade_id="cp-called", request_id="cp-called")
    assert got == S.FAILED_PRECONDITION and "not active" in details
    monkeypatch.undo()
    monkeypatch.setattr(thin_mod, "MAX_TRADES", 0)
    got, details = code_of(prepare, a, trade_id="cp-count", request_id="cp-count")
    assert got == S.FAILED_PRECONDITION and "trade count bound" in details
    monkeypatch.undo()
    prepare(a, trade_id="cp-called", request_id="cp-called")  # nothing was recorded for either
    prepare(a, trade_id="cp-count", request_id="cp-count")


def test_prepared_trades_not_submitted_are_bounded(c, monkeypatch):
    """A member cannot fill the prover's store with trades it prepares and
    never submits: at most MAX_OPEN_PREPARED per member and cycle are open;
    a retry of one of them is no new one, and a submitted one frees its slot."""
    a = thin(c, "C")
    w = c.prover.resource.witness
    monkeypatch.setattr(thin_mod, "MAX_OPEN_PREPARED", thin_mod.open_prepared(w, "C", w.state.cycle) + 2)
    first = prepare(a, trade_id="open-1", request_id="open-1", counterparty="A")
    prepare(a, trade_id="open-2", request_id="open-2", counterparty="A")
    got, details = code_of(prepare, a, trade_id="open-3", request_id="open-3", counterparty="A")
    assert got == S.FAILED_PRECONDITION and "prepared" in details
    assert prepare(a, trade_id="open-1", request_id="open-1", counterparty="A") == first  # a retry
    t = convert.trade(first.trade)
    a.clearing.SubmitTrade(clearing_pb2.SubmitTradeRequest(
        request_id="open-1", trade=first.trade, proof=first.proof,
        signature=signing.sign(a.identity.ed25519_private, *trade_message(t)),
        sealed_counterparty=first.sealed_counterparty, sealed_prover=first.sealed_prover))
    prepare(a, trade_id="open-3", request_id="open-3", counterparty="A")  # the booked one left the count


def test_nothing_recorded_when_the_record_cannot_be_written(c, monkeypatch):
    """The answer is recorded at rest before it is kept in memory and
    returned: a full disk leaves nothing behind, so a retry -- even with
    other terms -- prepares afresh (and is the one commitment)."""
    a = thin(c, "A")
    w = c.prover.resource.witness
    real = w.on_answer

    def full(name, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(w, "on_answer", full)
    assert code_of(prepare, a, trade_id="disk-1", request_id="disk-1")[0] == S.RESOURCE_EXHAUSTED
    monkeypatch.setattr(w, "on_answer", real)
    got = prepare(a, trade_id="disk-1", request_id="disk-1", quantity=QTY + 5)
    assert prepare(a, trade_id="disk-1", request_id="disk-1", quantity=QTY + 5) == got
    assert code_of(prepare, a, trade_id="disk-1", request_id="disk-1")[0] == S.ALREADY_EXISTS


def test_prepared_for_a_cycle_that_closed(tmp_path):
    """A trade prepared in cycle 1 and submitted after the close is refused
    by the node (another cycle); its trade id stays taken (one commitment
    per trade id, ever), a retry still gets the recorded answer."""
    cl = Cluster(tmp_path / "cfg")
    try:
        cl.onboard()
        a = thin(cl, "A")
        got = prepare(a, trade_id="late-1", request_id="late-1")
        op = cl.operator()
        op.settle([i["price0"] for i in INSTRUMENTS], MATRIX)
        op.run_margin()
        op.close_cycle()
        assert a.ledger_status().cycle == 2
        t = convert.trade(got.trade)
        req = clearing_pb2.SubmitTradeRequest(request_id="late-1", trade=got.trade, proof=got.proof,
                                              signature=signing.sign(a.identity.ed25519_private,
                                                                     *trade_message(t)),
                                              sealed_counterparty=got.sealed_counterparty,
                                              sealed_prover=got.sealed_prover)
        assert code_of(a.clearing.SubmitTrade, req)[0] == S.FAILED_PRECONDITION
        assert prepare(a, trade_id="late-1", request_id="late-1", cycle=1) == got
        assert code_of(prepare, a, trade_id="late-1", request_id="late-1b")[0] == S.ALREADY_EXISTS
        assert thin_mod.open_prepared(cl.prover.resource.witness, "A", 2) == 0
    finally:
        cl.stop()


def test_concurrent_prepares_of_one_trade_id_give_one_commitment(c):
    """Simultaneous PrepareTrade calls for one trade id with different
    terms: exactly one commitment is made; every other call is refused
    (ALREADY_EXISTS) or, with the winner's terms, gets its answer."""
    a = thin(c, "A")
    out: list = []

    def go(i):
        try:
            out.append(("ok", i, prepare(a, trade_id="race-1", request_id=f"race-{i}", quantity=100 + i % 3)))
        except grpc.RpcError as exc:
            out.append((exc.code(), i, None))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [r for r in out if r[0] == "ok"]
    assert {r[0] for r in out} <= {"ok", S.ALREADY_EXISTS} and won
    assert len({r[2].trade.commitment for r in won}) == 1
    assert len({100 + r[1] % 3 for r in won}) == 1  # only the winner's terms


def test_the_largest_quantity(c):
    a, b = thin(c, "A"), thin(c, "B")
    a.trade("qmax-1", "B", "RTX", "buy", (1 << 32) - 1, 200_000)
    assert [x.quantity for x in b.pending() if x.trade["trade_id"] == "qmax-1"] == [(1 << 32) - 1]
    assert b.affirm("qmax-1", expect={"quantity": (1 << 32) - 1}).status == "novated"
