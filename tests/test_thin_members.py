"""Thin members (issue 15): the prover service makes a member's trade
commitment, proof and sealed openings (PrepareTrade) and checks a pending
trade's opening for its counterparty (CheckAffirmation), so the member needs
no curve code.  End to end with thick and thin counterparties, the recorded
answer (one commitment per trade id, across a prover restart), who may ask,
the status of every refusal, and no quantity in logs or reprs."""
from __future__ import annotations

import logging
import os

import grpc
import pytest

from clearing.api import clearing_pb2, common_pb2, convert, prover_pb2
from clearing.clients import Participant, ThinParticipant, TradeRejected
from clearing.clients import participant as participant_mod
from clearing.protocol import signing
from clearing.protocol.messages import affirmation_message, trade_message, trade_tuple
from clearing.protocol.relay import SEALED_OPENING_BYTES
from clearing.services.pki import load_identity
from support.services import Cluster

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
