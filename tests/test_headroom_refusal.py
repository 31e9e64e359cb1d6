"""The prover's signed pre-trade refusal (issue 14 §1) and the fold rules
that keep H at or below a member's excess: the ``pretrade-refusal`` event
(honest path, every field tampered, stale H, wrong sides, a refusal where
none is due), the prover's boundary (H' = 0 proves, H' = -1 refuses), a
called member's cure deposit not raising H.

Numbers as tests/test_headroom_engine.py: w_ESX = 500,000 per contract, the
novation VM 0 at the settlement price; D has H = 1,000,000 after the run.
"""
from __future__ import annotations

import pytest

from clearing.protocol import headroom, signing
from clearing.protocol.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import TRADE_FIELDS, affirmation_message
from prover.custody.headroom import HeadroomRefused
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from support.headroom import pretrade_sim
from zkp.generators import generators

PRICES = [i["price0"] for i in INSTRUMENTS]
W_ESX = 500_000


@pytest.fixture
def sim(tmp_path):
    """A, B, C with 10^9 cash, D with 10^6; a pre-trade set; one margin run; cycle 2."""
    return pretrade_sim(tmp_path, b"headroom-refusal")


def _submit(sim, tid, buyer, seller, qty):
    sim.submit(tid, buyer, seller, "ESX", qty, PRICES[0])
    sim.affirm_by(seller, tid)


def _refused(sim, tid) -> HeadroomRefused:
    with pytest.raises(HeadroomRefused) as info:
        sim.witness.receive_opening(tid, sim.engine.relayed(tid, PROVER))
    return info.value


def _H(sim, mid) -> str:
    return sim.engine.state.members[mid].headroom.encode().hex()


def _signed(sim, tid, members, Hb, Hs) -> bytes:
    t = sim.engine.trade(tid)
    return signing.sign(sim.prover_sk, *headroom.refusal_message({k: t[k] for k in TRADE_FIELDS}, members, Hb, Hs))


def test_refusal_names_the_short_side_and_is_booked(sim):
    _submit(sim, "r1", "D", "A", 3)  # D needs 1.5M, has 1M; A has plenty
    r = _refused(sim, "r1")
    assert r.members == ("D",) and (r.H_buyer, r.H_seller) == (_H(sim, "D"), _H(sim, "A"))
    res = sim.book_refusal(r)
    t = sim.engine.trade("r1")
    assert t["status"] == "pending" and not t["receipt"] and t["pretrade_refused"] == ["D"]
    assert res["status"] == "pending"
    assert sim.engine.state.books["pretrade_refusals"] == [{"member": "D", "trade_id": "r1"}]
    assert sim.witness.state.trades["r1"]["pretrade_refused"] == ["D"]  # the prover's replay agrees
    # the same refusal again: its own request id replays; under a new id it is a duplicate
    again = sim.engine.pretrade_refusal(r.trade_id, r.members, r.H_buyer, r.H_seller, r.sig, sim.last_rid)
    assert again["seq"] == res["seq"]
    with pytest.raises(AlreadyExists, match="already refused"):
        sim.engine.pretrade_refusal(r.trade_id, r.members, r.H_buyer, r.H_seller, r.sig, sim.rid("refusal"))


def test_both_sides_short_buyer_first(sim):
    sim.admit("E")
    sim.deposit("E", 200_000)
    _submit(sim, "r2", "E", "D", 3)  # E has H 200,000 (a deposit after the run), D 1M: both short
    r = _refused(sim, "r2")
    assert r.members == ("E", "D")
    sim.book_refusal(r)
    assert sim.engine.state.books["pretrade_refusals"] == [{"member": "E", "trade_id": "r2"},
                                                           {"member": "D", "trade_id": "r2"}]


def test_boundary_zero_headroom_left_proves(sim):
    _submit(sim, "r3", "D", "A", 2)  # exactly 1,000,000 = H_D: H' = 0 is allowed
    sig = sim.witness.receive_opening("r3", sim.engine.relayed("r3", PROVER))
    sim.engine.receipt("r3", sig, sim.rid("rcpt"), headroom=sim.witness.headroom_debit("r3"))
    sim.sync()
    assert sim.engine.trade("r3")["status"] == "novated"
    op = sim.witness.state.members["D"].headroom
    assert op.value == 0 and sim.engine.state.members["D"].headroom == generators().commit(0, op.blinding)
    _submit(sim, "r4", "D", "A", 1)  # now H' = -500,000
    assert _refused(sim, "r4").members == ("D",)


@pytest.mark.parametrize("field", ["members", "H_buyer", "H_seller", "sig", "trade_id"])
def test_every_field_tampered_is_refused(sim, field):
    _submit(sim, "r5", "D", "A", 3)
    r = _refused(sim, "r5")
    args = {"trade_id": r.trade_id, "members": r.members, "H_buyer": r.H_buyer, "H_seller": r.H_seller,
            "sig": r.sig}
    if field == "members":
        args["members"] = ("A",)  # the other side, under the prover's signature for D
    elif field in ("H_buyer", "H_seller"):
        args[field] = generators().commit(5, 7).encode().hex()
    elif field == "sig":
        args["sig"] = bytes(64)
    else:
        _submit(sim, "r6", "D", "B", 3)
        args["trade_id"] = "r6"
    with pytest.raises((InvalidArgument, FailedPrecondition)):
        sim.engine.pretrade_refusal(request_id=sim.rid("refusal"), **args)
    assert "pretrade_refusals" not in sim.engine.state.books


@pytest.mark.parametrize("members", [(), ("A", "D"), ("D", "D"), ("C",)])
def test_sides_must_be_the_trades_buyer_first_once(sim, members):
    _submit(sim, "r7", "D", "A", 3)
    r = _refused(sim, "r7")
    sig = _signed(sim, "r7", list(members), r.H_buyer, r.H_seller)  # a validly signed but malformed list
    with pytest.raises(InvalidArgument, match="short sides"):
        sim.engine.pretrade_refusal("r7", members, r.H_buyer, r.H_seller, sig, sim.rid("refusal"))


def test_stale_headroom_is_a_failed_precondition(sim):
    _submit(sim, "r8", "D", "A", 3)
    r = _refused(sim, "r8")
    sim.deposit("D", 100_000)  # H_D moves: the refusal is for an old H
    with pytest.raises(FailedPrecondition, match="stale"):
        sim.engine.pretrade_refusal(r.trade_id, r.members, r.H_buyer, r.H_seller, r.sig, sim.rid("refusal"))


def test_no_refusal_without_a_pretrade_set_or_after_the_receipt(tmp_path, sim):
    (tmp_path / "off").mkdir()
    off = basic_sim(tmp_path / "off", seed=b"refusal-off")
    off.settle(PRICES, MATRIX)
    off.margin()
    off.close()
    trade, proof, sig, sc, sp, _ = off.make_trade("x1", "A", "B", "ESX", 1, PRICES[0])
    off.engine.submit_trade(trade, proof, sig, sc, sp, off.rid("trade"))
    H = generators().commit(0, 0).encode().hex()
    t = off.engine.trade("x1")
    s = signing.sign(off.prover_sk, *headroom.refusal_message({k: t[k] for k in TRADE_FIELDS}, ["A"], H, H))
    with pytest.raises(FailedPrecondition, match="without a pre-trade"):
        off.engine.pretrade_refusal("x1", ["A"], H, H, s, off.rid("refusal"))
    # under the limit: a trade that got its receipt cannot be refused afterwards
    trade, proof, sig, sc, sp, _ = sim.make_trade("x2", "A", "B", "ESX", 1, PRICES[0])
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()
    checked = sim.counterparty_check("B", "x2")  # the pre-trade check follows the affirmation (review)
    sim.engine.affirm("x2", "B", sim.members["B"].sign(affirmation_message(checked, "B")), sim.rid("aff"))
    sim.sync()
    rsig = sim.witness.receive_opening("x2", sim.engine.relayed("x2", PROVER))
    sim.engine.receipt("x2", rsig, sim.rid("rcpt"), headroom=sim.witness.headroom_debit("x2"))
    sim.sync()
    s2 = _signed(sim, "x2", ["A"], _H(sim, "A"), _H(sim, "B"))
    with pytest.raises(FailedPrecondition, match="novated"):  # the receipt novated it
        sim.engine.pretrade_refusal("x2", ["A"], _H(sim, "A"), _H(sim, "B"), s2, sim.rid("refusal"))


def test_a_called_members_cure_deposit_does_not_raise_headroom(tmp_path):
    s = basic_sim(tmp_path, seed=b"refusal-call")
    s.admit("D")
    s.deposit("D", 1_000_000 + 10_000)
    s.fund("D", 10_000)
    s.settle(PRICES, MATRIX, pretrade=True)
    s.margin()
    s.close()
    s.trade("c1", "D", "A", "ESX", 2, PRICES[0])  # D uses all its headroom (requirement 1M = its cash)
    s.settle([PRICES[0] - 100, PRICES[1]], MATRIX, pretrade=True)  # D loses 2*100*50 = 10,000: called
    assert s.margin()["D"] == "call"
    assert s.witness.state.members["D"].headroom.value == 0
    s.cure("D", 10_000)  # the cure deposit: H stays 0 (its excess after the cure is below the deposit)
    assert s.engine.account("D")["status"] == "active"
    assert s.witness.state.members["D"].headroom.value == 0
    s.deposit("D", 50_000)  # an active member's deposit raises H by the public amount
    assert s.witness.state.members["D"].headroom.value == 50_000
