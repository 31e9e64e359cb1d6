"""The pre-trade risk limit (issue 14 §1) through the engine harness: a
scenario set with ``"pretrade": true``; H set at the margin run (the batch
entries carry C(H) and its proof), debited at the prover's receipt (the
receipt carries the HeadroomDebit proof against both sides' current H),
checked only after the counterparty's affirmation, raised by deposits.

Numbers (tests/support/engine.py): ESX multiplier 50, worst impact
w_ESX = max_s |A[s][ESX]| = 500,000 per contract; at the settlement price
the novation VM is 0, so a trade of q ESX debits each side by 500,000 * q.
"""
from __future__ import annotations

import pytest

from clearing.protocol import headroom, signing
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import TRADE_FIELDS, trade_tuple
from clearing.protocol.relay import open_opening
from prover.custody.witness import Refused
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from support.headroom import cheat_prove_unfolded, pretrade_sim
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import StatementProof

PRICES = [i["price0"] for i in INSTRUMENTS]
W_ESX = 500_000
CASH = 10**9


def _h(sim, mid):
    """(the node's C(H), the prover's opening of H)."""
    return sim.engine.state.members[mid].headroom, sim.witness.state.members[mid].headroom


def _value(sim, mid) -> int:
    node, op = _h(sim, mid)
    assert node == generators().commit(op.value, op.blinding)  # node and prover agree
    return op.value


def _submit(sim, tid, buyer, seller, qty, affirm=True):
    sim.submit(tid, buyer, seller, "ESX", qty, PRICES[0])
    if affirm:
        sim.affirm_by(seller, tid)


def _receipt(sim, tid):
    return sim.push_receipt(tid)


@pytest.fixture
def sim(tmp_path):
    """A, B, C with 10^9 cash, D with 10^6; a pre-trade set; one margin run; cycle 2."""
    return pretrade_sim(tmp_path, b"headroom-engine")


def test_margin_run_sets_headroom(sim):
    # no positions: H = min_s (cash + P&L_s) = cash, committed by the prover, stored by the node
    for mid in "ABC":
        assert _value(sim, mid) == CASH
    assert _value(sim, "D") == 1_000_000
    ss = sim.engine.state.scenario_set
    assert ss["pretrade"] is True and headroom.worst_impacts(ss)[0] == W_ESX


def test_flag_absent_no_headroom(tmp_path):
    s = basic_sim(tmp_path, seed=b"headroom-off")
    s.settle(PRICES, MATRIX)
    s.margin()
    s.close()
    assert all(a.headroom is None for a in s.engine.state.members.values())
    assert s.trade("t1", "A", "B", "ESX", 3, PRICES[0])["status"] == "novated"
    assert s.witness.headroom_debit("t1") is None
    assert all("headroom" not in body for _, body in s.engine.events() if body["kind"] in ("receipt", "settle"))


def test_within_headroom_novates_and_debits_both(sim):
    sim.reopen_every_step = True  # replay of the new fields: same state and digests
    assert sim.trade("t1", "A", "B", "ESX", 2, PRICES[0])["status"] == "novated"
    assert _value(sim, "A") == CASH - 2 * W_ESX
    assert _value(sim, "B") == CASH - 2 * W_ESX
    assert _value(sim, "C") == CASH
    body = [b for _, b in sim.engine.events() if b["kind"] == "receipt"][-1]
    assert set(body["headroom"]) == {"H_buyer", "H_seller", "proof"}


def test_beyond_headroom_refused_deposit_cures(sim):
    _submit(sim, "t2", "D", "C", 3)  # needs 1.5M, D has 1M
    with pytest.raises(Refused, match=headroom.EXHAUSTED):
        sim.witness.receive_opening("t2", sim.engine.relayed("t2", PROVER))
    assert sim.engine.trade("t2")["status"] == "pending"
    # without the debit proof the node refuses the receipt too (no unchecked novation)
    t = sim.engine.trade("t2")
    sig = signing.sign(sim.prover_sk, *headroom.receipt_message({k: t[k] for k in TRADE_FIELDS}))
    with pytest.raises(InvalidArgument, match="headroom debit proof"):
        sim.engine.receipt("t2", sig, sim.rid("rcpt"))
    sim.deposit("D", 600_000)
    assert _value(sim, "D") == 1_600_000
    assert _receipt(sim, "t2")["status"] == "novated"
    assert _value(sim, "D") == 100_000
    assert _value(sim, "C") == CASH - 3 * W_ESX


def test_unaffirmed_trade_reserves_nothing_and_expires(sim):
    _submit(sim, "t3", "A", "B", 4, affirm=False)
    with pytest.raises(Refused, match="affirmation"):  # the pre-trade check follows the affirmation (review)
        _receipt(sim, "t3")
    assert _value(sim, "A") == CASH
    sim.settle(PRICES, MATRIX, pretrade=True)
    sim.margin()
    assert _value(sim, "A") == CASH
    sim.close()
    assert sim.engine.trade("t3")["status"] == "expired"
    assert _value(sim, "A") == CASH and _value(sim, "B") == CASH


def test_stale_proof_refused_then_reproved(sim):
    _submit(sim, "t4", "A", "B", 1)
    sig = sim.witness.receive_opening("t4", sim.engine.relayed("t4", PROVER))
    debit = sim.witness.headroom_debit("t4")
    sim.deposit("B", 5)  # B's H moves: the proof is for a stale H
    with pytest.raises(FailedPrecondition, match="stale"):
        sim.engine.receipt("t4", sig, sim.rid("rcpt"), headroom=debit)
    sig = sim.witness.receipt_again("t4")
    assert sim.engine.receipt("t4", sig, sim.rid("rcpt"), headroom=sim.witness.headroom_debit("t4"))[
        "status"] == "novated"
    sim.sync()
    assert _value(sim, "B") == CASH + 5 - W_ESX


def test_cheating_prover_negative_headroom_fails(sim):
    _submit(sim, "t5", "D", "C", 3)  # D would go to 1M - 1.5M < 0
    t = sim.engine.trade("t5")
    trade = {k: t[k] for k in TRADE_FIELDS}
    w = sim.witness
    hb, hs = w.state.members["D"].headroom, w.state.members["C"].headroom
    q, rho = open_opening(w._relay, sim.engine.relayed("t5", PROVER), trade_tuple(trade))
    gens = generators()
    st = headroom.debit_statement(sim.cycle, sim.engine.state.cycle_seq, trade, gens.commit(hb.value, hb.blinding),
                                  gens.commit(hs.value, hs.blinding), W_ESX, 0)
    proof = StatementProof(cheat_prove_unfolded(st, [hb, hs, Opening(q, rho)])).to_bytes()
    sig = signing.sign(sim.prover_sk, *headroom.receipt_message(trade, proof))
    debit = {"H_buyer": st.H_buyer.encode().hex(), "H_seller": st.H_seller.encode().hex(), "proof": proof.hex()}
    with pytest.raises(InvalidArgument, match="does not verify"):
        sim.engine.receipt("t5", sig, sim.rid("rcpt"), headroom=debit)
    assert sim.engine.trade("t5")["status"] == "pending"
    # the receipt's signature covers the proof: another proof under it is refused
    with pytest.raises(InvalidArgument, match="signature"):
        sim.engine.receipt("t5", sig, sim.rid("rcpt"), headroom=dict(debit, proof=(proof + b"\0").hex()))


def _resigned(sim, entries):
    from clearing.protocol.messages import margin_batch_message
    return signing.sign(sim.prover_sk, *margin_batch_message(sim.cycle, entries))


def test_margin_batch_headroom_checked(sim):
    sim.settle(PRICES, MATRIX, pretrade=True)
    entries, _ = sim.witness.margin_batch(sim.cycle, sim.accounts())
    assert all("headroom" in e for e in entries)
    bad_proof = [dict(e) for e in entries]
    p = bytearray.fromhex(bad_proof[0]["headroom"]["proof"])
    p[-1] ^= 1
    bad_proof[0]["headroom"] = dict(bad_proof[0]["headroom"], proof=p.hex())
    swapped = [dict(e) for e in entries]
    swapped[0]["headroom"] = dict(swapped[0]["headroom"], H=entries[3]["headroom"]["H"])  # A claims D's H
    for bad in (bad_proof, swapped):
        with pytest.raises(InvalidArgument, match="headroom proof"):
            sim.engine.submit_margin_batch(sim.cycle, bad, _resigned(sim, bad), sim.rid("margin"))
    # the signature covers H and the proof: an unsigned change is refused
    with pytest.raises(InvalidArgument, match="signature"):
        sim.engine.submit_margin_batch(sim.cycle, swapped, _resigned(sim, entries), sim.rid("margin"))
    # without its headroom a member gets H = 0 (no proof, no headroom)
    fewer = [dict(e) for e in entries]
    del fewer[3]["headroom"]
    sim.engine.submit_margin_batch(sim.cycle, fewer, _resigned(sim, fewer), sim.rid("margin"))
    assert sim.engine.state.members["D"].headroom.is_identity()


def test_headroom_without_flag_refused(tmp_path):
    s = basic_sim(tmp_path, seed=b"headroom-noflag")
    s.settle(PRICES, MATRIX)
    entries, _ = s.witness.margin_batch(s.cycle, s.accounts())
    forged = [dict(e, headroom={"H": generators().commit(1, 1).encode().hex(), "proof": "00"}) for e in entries]
    with pytest.raises(InvalidArgument, match="without a pre-trade"):
        s.engine.submit_margin_batch(s.cycle, forged, _resigned(s, forged), s.rid("margin"))


def test_receipt_body_optional_field():
    from clearing.protocol import events as ev
    body = {"kind": "receipt", "trade_id": "t", "request_id": "r", "sig": "00"}
    assert ev.parse(body).to_body() == body
    with_h = dict(body, headroom={"H_buyer": "aa", "H_seller": "bb", "proof": "cc"})
    assert ev.parse(with_h).to_body() == with_h
    for bad in (dict(body, headroom=None), dict(body, headroom={"H_buyer": "aa"}), dict(body, headroom="x")):
        with pytest.raises(InvalidArgument):
            ev.parse(bad)
    with pytest.raises(InvalidArgument, match="pretrade"):
        ev.parse({"kind": "settle", "cycle": 1, "prices": [1], "request_id": "r", "op_sig": "00",
                  "scenario_set": {"version": 0, "matrix": [[0]], "id": "00", "pretrade": 1}})
