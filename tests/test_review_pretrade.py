"""Adversarial review of the pre-trade limit (issue 14 §1): H never exceeds
the member's excess at the basis in force, min over the basis rows of
cash + sum_i A[s][i]*pos_i (the signed set after a margin run; the derived
set -- the un-settled cash row, then A[s] + u -- while an intraday basis is
in force).

Findings tested here: the prover's check (debit or refusal) of a trade the
counterparty has not affirmed (a free probe of the counterparty's hidden
headroom, or a lock on it until the close); a receipt booked while the
limit was off, affirmed after a run under a pre-trade set (novated with no
debit); debits between a new basis (settle, marks) and its batch proven
against the previous H; an auction lot under intraday marks valued at the
settlement price; malformed H points answered as "stale"; through the
services, a refused trade pushed again other than by RetryTrade (a replayed
AffirmTrade, the background receipt retries after a RetryTrade the prover
did not answer).

Numbers (tests/support/engine.py): ESX multiplier 50, settlement price
500,000, w_ESX = 500,000 per contract.  D has 10^6 of cash and is long 1 ESX
(H_D = 500,000).
"""
from __future__ import annotations

import grpc
import pytest

from clearing.api import clearing_pb2
from clearing.fold.intraday import margin_basis
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import PROVER
from prover.custody.errors import Refused
from prover.custody.headroom import HeadroomRefused
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from support.intraday import book_batch, book_marks, intraday_run
from support.services import Cluster, events_of, pretrade_cluster
from zkp.field import to_signed
from zkp.generators import generators

PRICES = [i["price0"] for i in INSTRUMENTS]
DOWN = [490_000, PRICES[1]]  # u_ESX = -500,000 (D's long loses 500,000 per contract)


def _sim(tmp_path, pretrade=True):
    s = basic_sim(tmp_path, seed=b"review-pretrade")
    s.admit("D")
    s.deposit("D", 1_000_000 + 10_000)
    s.fund("D", 10_000)
    s.settle(PRICES, MATRIX, pretrade=pretrade)
    s.margin()
    s.close()
    assert s.trade("t0", "D", "C", "ESX", 1, PRICES[0])["status"] == "novated"
    return s


def _headroom(sim, mid) -> int:
    node, op = sim.engine.state.members[mid].headroom, sim.witness.state.members[mid].headroom
    assert node == generators().commit(op.value, op.blinding)  # node and prover folds agree
    return to_signed(op.value)


def _excess(sim, mid) -> int:
    """min over the basis rows of cash + P&L_s, from the prover's openings."""
    a = sim.witness.state.members[mid]
    cash, pos = to_signed(a.cash.value), [to_signed(p.value) for p in a.pos]
    rows = margin_basis(sim.engine.state)["matrix"]
    return min(cash + sum(x * q for x, q in zip(row, pos)) for row in rows)


def _submit_and_receipt(sim, tid, qty, price):
    """D buys from C while the limit is off: the trade and the prover's plain
    receipt; C has not affirmed yet."""
    sim.submit(tid, "D", "C", "ESX", qty, price)
    assert sim.push_receipt(tid)["status"] == "pending"


def _affirm(sim, tid):
    return sim.affirm_by("C", tid)


def test_receipt_from_before_the_limit_is_reserved_at_the_run(tmp_path):
    sim = _sim(tmp_path, pretrade=False)
    _submit_and_receipt(sim, "t1", 1, PRICES[0])  # no limit: a plain receipt, no reservation
    sim.settle(PRICES, MATRIX, version=1, pretrade=True)  # a new version: the flag changes the set's id
    assert sim.margin()["D"] == "pass"  # cash 10^6, long 1 -> H = 500,000
    assert _affirm(sim, "t1")["status"] == "novated"
    assert _excess(sim, "D") == 0  # long 2: 10^6 - 2*500,000
    assert _headroom(sim, "D") <= _excess(sim, "D")
    sim.close()  # nothing pending: no give-back
    assert _headroom(sim, "D") <= _excess(sim, "D")


def test_no_novation_on_the_previous_basis_between_settle_and_margin_run(tmp_path):
    """After the settle books D's VM (-500,000 on its long 1) its H of the
    last run (500,000) is above its excess (0): until the margin run installs
    a new H, a debit must not be proven against the old one."""
    sim = _sim(tmp_path)
    sim.settle(DOWN, MATRIX, pretrade=True)
    assert _excess(sim, "D") == 0  # cash 500,000, long 1
    assert _headroom(sim, "D") <= _excess(sim, "D")
    with pytest.raises(HeadroomRefused):  # buying 1 more at 490,000 costs w = 500,000
        sim.trade("t1", "D", "C", "ESX", 1, DOWN[0])
    sim.deposit("D", 500_001)  # a deposit still raises H by its public amount (every H is 0 until the run)
    sim.deposit("C", 500_000)
    assert (_headroom(sim, "D"), _headroom(sim, "C")) == (500_001, 500_000)
    assert sim.trade("t2", "D", "C", "ESX", 1, DOWN[0])["status"] == "novated"
    assert _headroom(sim, "D") <= _excess(sim, "D")
    assert sim.margin()["D"] == "pass"
    assert _headroom(sim, "D") == _excess(sim, "D") == 1


def test_no_novation_on_the_previous_basis_between_marks_and_intraday_batch(tmp_path):
    """The operator's marks are in force before the prover's batch: debits
    are at the marks, so the H of the previous basis must not serve them."""
    sim = _sim(tmp_path)
    book_marks(sim, DOWN)
    assert _excess(sim, "D") == 0  # rows 10^6, 500,000, 0, 10^6, 750,000
    assert _headroom(sim, "D") <= _excess(sim, "D")
    with pytest.raises(HeadroomRefused):  # at 490,000: vm 0 at the mark, w = 500,000
        sim.trade("t1", "D", "C", "ESX", 1, DOWN[0])
    book_batch(sim)
    assert _headroom(sim, "D") == _excess(sim, "D") == 0


CRASH = [480_000, PRICES[1]]  # u_ESX = -1,000,000: D (cash 10^6, long 1) is called


def test_auction_lot_won_under_an_intraday_basis_debits_at_the_mark(tmp_path):
    """B (flat) wins the defaulter's long 1 ESX while the crash marks are in
    force: at the marks the lot is worth (M - c)*50 less than its VM booked
    at the last settlement price, which its H must lose too."""
    sim = _sim(tmp_path)
    assert intraday_run(sim, CRASH)["D"] == "call"
    sim.declare_default("D")
    c = [480_000, PRICES[1]]
    sim.default_event(c, lots=[{"instrument": "ESX", "quantity": 1, "winner": "B"}])
    # B: cash + its lot VM at P (+10^6), long 1 worth (480,000 - 500,000)*50 = -10^6 more at the marks
    assert _headroom(sim, "B") <= _excess(sim, "B")


def test_a_side_at_zero_headroom_may_take_a_trade_that_raises_it(tmp_path):
    """Between the settle and the run every H is the identity; a debit whose
    coefficient is >= 0 for that side is still proven and booked."""
    sim = _sim(tmp_path)
    sim.settle(PRICES, MATRIX, pretrade=True)
    assert sim.engine.state.members["C"].headroom.encode() == generators().commit(0, 0).encode()
    sim.deposit("D", 1_500_000)  # D buys at 520,000: (c - p)*50 - w = -1,500,000
    assert sim.trade("t1", "D", "C", "ESX", 1, 520_000)["status"] == "novated"
    assert (_headroom(sim, "D"), _headroom(sim, "C")) == (0, 500_000)  # C: 1,000,000 - 500,000


def _pending_with_debit(tmp_path):
    sim = _sim(tmp_path)
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "D", "C", "ESX", 1, PRICES[0])
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()
    _affirm(sim, "t1")
    rsig = sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER))
    return sim, rsig, sim.witness.headroom_debit("t1")


_IDENTITY = generators().commit(0, 0).encode().hex()
_MALFORMED_POINTS = {"short": "00" * 31, "long": "00" * 33, "not hex": "zz" * 32, "off curve": "ff" * 32}


@pytest.mark.parametrize("side", ["H_buyer", "H_seller"])
def test_receipt_debit_malformed_points_are_invalid_argument(tmp_path, side):
    sim, rsig, good = _pending_with_debit(tmp_path)
    for bad in [*_MALFORMED_POINTS.values(), good[side].upper()]:
        with pytest.raises(InvalidArgument):
            sim.engine.receipt("t1", rsig, sim.rid("rcpt"), headroom=dict(good, **{side: bad}))
    with pytest.raises(FailedPrecondition, match="stale"):  # a well-formed point that is not the H held
        sim.engine.receipt("t1", rsig, sim.rid("rcpt"), headroom=dict(good, **{side: _IDENTITY}))
    for bad in ("", "00" * 10):
        with pytest.raises(InvalidArgument):
            sim.engine.receipt("t1", rsig, sim.rid("rcpt"), headroom=dict(good, proof=bad))
    assert sim.engine.receipt("t1", rsig, sim.rid("rcpt"), headroom=good)["status"] == "novated"


def test_refusal_malformed_points_are_invalid_argument(tmp_path):
    sim = _sim(tmp_path)
    trade, proof, sig, sc, sp, _ = sim.make_trade("t1", "D", "C", "ESX", 2, PRICES[0])
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()
    _affirm(sim, "t1")
    with pytest.raises(HeadroomRefused) as refused:
        sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER))
    r = refused.value
    for bad in [*_MALFORMED_POINTS.values(), r.H_buyer.upper()]:
        with pytest.raises(InvalidArgument):
            sim.engine.pretrade_refusal("t1", r.members, bad, r.H_seller, r.sig, sim.rid("refusal"))
        with pytest.raises(InvalidArgument):
            sim.engine.pretrade_refusal("t1", r.members, r.H_buyer, bad, r.sig, sim.rid("refusal"))
    with pytest.raises(FailedPrecondition, match="stale"):
        sim.engine.pretrade_refusal("t1", r.members, _IDENTITY, r.H_seller, r.sig, sim.rid("refusal"))
    sim.book_refusal(r)
    assert sim.engine.trade("t1")["pretrade_refused"] == ["D"]


def _initiated_by_c(sim, tid, qty, price):
    """C (the seller) initiates a trade naming D as buyer; D has not affirmed."""
    trade, proof, sig, sc, sp, _ = sim.make_trade(tid, "D", "C", "ESX", qty, price, side="sell")
    sim.engine.submit_trade(trade, proof, sig, sc, sp, sim.rid("trade"))
    sim.sync()


def _answer_as_if_affirmed(sim, tid):
    """The prover's answer to an unaffirmed trade, its own affirmation check
    bypassed (a lagging or faulty prover): the node must not book it either."""
    trades = sim.witness.state.trades
    saved = trades[tid]
    trades[tid] = dict(saved, affirmed=True)
    try:
        return sim.witness.receive_opening(tid, sim.engine.relayed(tid, PROVER))
    finally:
        trades[tid] = saved


def test_an_unaffirmed_trade_cannot_reserve_the_counterpartys_headroom(tmp_path):
    """Griefing: C names D in a trade D never agreed to (C's own headroom
    hardly matters); the debit would lock D's headroom until the close.  The
    pre-trade check follows the counterparty's affirmation."""
    sim = _sim(tmp_path)
    _initiated_by_c(sim, "g1", 1, PRICES[0])  # D's debit 500,000 = its whole H
    with pytest.raises(Refused, match="affirmation"):
        sim.witness.receive_opening("g1", sim.engine.relayed("g1", PROVER))
    rsig = _answer_as_if_affirmed(sim, "g1")
    with pytest.raises(FailedPrecondition, match="affirmation"):
        sim.engine.receipt("g1", rsig, sim.rid("rcpt"), headroom=sim.witness.headroom_debit("g1"))
    assert _headroom(sim, "D") == 500_000  # nothing reserved
    _affirm_by(sim, "D", "g1")  # once D agrees, the check runs (the prover holds the opening) and it novates
    rsig = sim.witness.receipt_again("g1")
    assert sim.engine.receipt("g1", rsig, sim.rid("rcpt"), headroom=sim.witness.headroom_debit("g1"))["status"] \
        == "novated"
    sim.sync()
    assert _headroom(sim, "D") == 0


def test_an_unaffirmed_trade_cannot_probe_the_counterpartys_headroom(tmp_path):
    """Probing: the initiator chooses q (hidden from everyone else) and the
    price, so each refusal naming the counterparty would tell it whether the
    counterparty's H < (w_i -+ vm)*q -- a binary search of a hidden balance at
    no cost.  A refusal of a trade the counterparty has not affirmed is not booked."""
    sim = _sim(tmp_path)
    _initiated_by_c(sim, "p1", 2, PRICES[0])  # D would need 1,000,000 > 500,000
    with pytest.raises(Refused, match="affirmation"):
        sim.witness.receive_opening("p1", sim.engine.relayed("p1", PROVER))
    with pytest.raises(HeadroomRefused) as refused:
        _answer_as_if_affirmed(sim, "p1")
    r = refused.value
    assert r.members == ("D",)
    with pytest.raises(FailedPrecondition, match="affirmation"):
        sim.engine.pretrade_refusal("p1", r.members, r.H_buyer, r.H_seller, r.sig, sim.rid("refusal"))
    assert "pretrade_refusals" not in sim.engine.state.books


def _affirm_by(sim, mid, tid):
    sim.affirm_by(mid, tid)


def test_intraday_marks_beyond_the_worst_move_keep_h_below_the_cash_row(tmp_path):
    sim = _sim(tmp_path)
    assert intraday_run(sim, [520_000, PRICES[1]])["D"] == "pass"  # u = +1,000,000 > w: H = cash = 10^6
    # the debit uses w = max(w_i, |u_i|) = 1,000,000 under these marks: H 10^6 - 10^6 = 0 <= the cash row
    assert sim.trade("t1", "D", "C", "ESX", 1, 520_000)["status"] == "novated"  # cash VM at c: -1,000,000
    assert _headroom(sim, "D") <= _excess(sim, "D")


def test_retry_trade_with_the_prover_down_is_unavailable_and_pushes_nothing_later(tmp_path):
    """RetryTrade is the only re-push of a refused trade: when the prover does
    not answer, the call says so (UNAVAILABLE, as the wire doc states: the
    member asks again) instead of reporting the old refusal as the answer
    and handing the trade to the node's background receipt retries -- which
    would re-push it later, at a time no side chose."""
    c = Cluster(tmp_path / "cfg", members=("A", "B", "C"))
    try:
        pretrade_cluster(c, {"A": 10**9, "B": 1_000_000, "C": 10**9})
        res = c.trade("r1", "A", "B", "ESX", "buy", 3, PRICES[0])  # debit 3 * 500,000 > H_B = 1,000,000
        assert res.status == "pending" and list(res.pretrade_refused) == ["B"]
        c.member("B").deposit(500_000)
        c.prover.stop(0)
        with pytest.raises(grpc.RpcError) as err:
            c.member("B").retry_trade("r1")
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        assert c.clearing.resource.receipts.queued() == []
        c.restart_prover()
        assert c.member("B").retry_trade("r1").status == "novated"
        assert len(events_of(c, "pretrade-refusal")) == 1
    finally:
        c.stop()


def test_a_replayed_affirmation_does_not_push_a_refused_trade_again(tmp_path):
    """A client's retry of its AffirmTrade (same request id, e.g. after a lost
    reply) replays the recorded affirmation; it must not re-push the refused
    trade to the prover -- only RetryTrade does."""
    c = Cluster(tmp_path / "cfg", members=("A", "B", "C"))
    try:
        pretrade_cluster(c, {"A": 10**9, "B": 1_000_000, "C": 10**9})
        c.member("A").trade("r2", "B", "ESX", "buy", 3, PRICES[0])
        res = c.member("B").affirm("r2", expect={"quantity": 3}, request_id="aff-r2")
        assert res.status == "pending" and list(res.pretrade_refused) == ["B"]
        c.member("B").deposit(500_000)  # now enough headroom
        again = c.member("B").affirm("r2", request_id="aff-r2")  # the replay
        assert again.status == "pending" and list(again.pretrade_refused) == ["B"]
        assert c.member("B").clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="r2")).status == "pending"
        assert c.member("B").retry_trade("r2").status == "novated"
        assert len(events_of(c, "pretrade-refusal")) == 1
    finally:
        c.stop()
