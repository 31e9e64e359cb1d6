"""The pre-trade limit's protocol layer (issue 14 §1, clearing/protocol/headroom.py):
the opt-in flag (absent: set ids exactly as before), the set id covering it,
w_i, the debit statement built from a trade and proved/verified, the fold's
homomorphic update equal to the statement's derived commitments, a deposit
raising H by the public amount, the receipt message covering the proof."""
from __future__ import annotations

import pytest

from clearing.protocol import headroom as PH
from clearing.protocol import maintenance
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.messages import receipt_message, scenario_set_id
from prover import headroom as prover_headroom
from verifier import headroom as VH
from zkp.errors import ProvingError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.pedersen import Opening

RNG = SeededRng(b"headroom-protocol")
INSTR = ["ESZ6", "NQZ6"]
MATRIX = [[0, 0], [50, -30], [-70, 20]]
TERMS = {"num": 4, "den": 5, "penalty_bps": 100}


def test_flag_absent_changes_nothing():
    assert PH.set_id(1, INSTR, MATRIX) == scenario_set_id(1, INSTR, MATRIX)
    assert PH.set_id(1, INSTR, MATRIX, None, TERMS) == maintenance.set_id(1, INSTR, MATRIX, None, TERMS)
    es = {"kind": "es", "k": 2}
    assert PH.set_id(1, INSTR, MATRIX, es) == scenario_set_id(1, INSTR, MATRIX, es)
    s = {"version": 1, "matrix": MATRIX}
    assert not PH.enabled(s)
    assert PH.set_id_of(s, INSTR) == scenario_set_id(1, INSTR, MATRIX)


def test_flag_covered_by_the_id():
    on = PH.set_id(1, INSTR, MATRIX, pretrade=True)
    assert on != scenario_set_id(1, INSTR, MATRIX)
    assert PH.set_id(1, INSTR, MATRIX, {"kind": "scan"}, pretrade=True) == on
    both = PH.set_id(1, INSTR, MATRIX, None, TERMS, True)
    assert len({on, both, maintenance.set_id(1, INSTR, MATRIX, None, TERMS)}) == 3
    assert PH.set_id_of({"version": 1, "matrix": MATRIX, "pretrade": True}, INSTR) == on
    assert PH.set_id(2, INSTR, MATRIX, pretrade=True) != on


@pytest.mark.parametrize("bad", [False, 1, "true", None])
def test_flag_must_be_true(bad):
    with pytest.raises(InvalidArgument, match="pretrade must be true"):
        PH.enabled({"version": 1, "matrix": MATRIX, "pretrade": bad})


def test_es_refused():
    with pytest.raises(InvalidArgument, match="scan model only"):
        PH.enabled({"version": 1, "matrix": MATRIX, "model": {"kind": "es", "k": 1}, "pretrade": True})
    with pytest.raises(InvalidArgument, match="scan model only"):
        PH.set_id(1, INSTR, MATRIX, {"kind": "es", "k": 1}, pretrade=True)


def test_worst_impacts():
    assert PH.worst_impacts({"matrix": MATRIX}) == (70, 30)


def _commit(v):
    o = Opening(v % R, RNG.randbelow(R - 1) + 1)
    return generators().commit(o.value, o.blinding), o


def _trade(T):
    return {"trade_id": "t-1", "cycle": 2, "buyer": "A", "seller": "B", "instrument": "ESZ6", "side": "buy",
            "price": 1000, "T": T.encode().hex()}


def test_debit_end_to_end_and_fold_update():
    gens = generators()
    q = 10
    T, oq = _commit(q)
    w = PH.worst_impacts({"matrix": MATRIX})[0]
    vm = PH.novation_vm(1000, 1003, 5)  # buyer gains 15 per contract
    assert vm == 15
    hb, hs = (w - vm) * q, (w + vm) * q  # both exactly exhausted by the trade
    (Hb, ob), (Hs, os_) = _commit(hb), _commit(hs)
    st = PH.debit_statement(2, 7, _trade(T), Hb, Hs, w, vm)
    proof = prover_headroom.prove_debit(st, ob, os_, oq, rng=RNG)
    VH.verify_debit(st, proof.to_bytes())
    # the fold's update is the statement's derived commitments, opening to 0 and 0
    nb, ns = PH.debited(Hb, Hs, T, w, vm)
    assert [nb, ns] == st.derived(gens)
    db, ds = prover_headroom.debited(st, ob, os_, oq)
    assert (db.value, ds.value) == (0, 0) and gens.commit(0, db.blinding) == nb
    # the debit is bound to this trade: another trade id fails
    other = PH.debit_statement(2, 7, dict(_trade(T), trade_id="t-2"), Hb, Hs, w, vm)
    with pytest.raises(VerificationError):
        VH.verify_debit(other, proof.to_bytes())
    # one more contract exhausts both: the prover refuses, a deposit cures the side it credits
    T2, oq2 = _commit(q + 1)
    st2 = PH.debit_statement(2, 8, _trade(T2), Hb, Hs, w, vm)
    with pytest.raises(ProvingError, match=PH.EXHAUSTED):
        prover_headroom.prove_debit(st2, ob, os_, oq2, rng=RNG)
    d = 1000  # deposits: H <- H + d*G (public d), the opening's value grows by d
    Hb2, Hs2 = Hb + gens.G * d, Hs + gens.G * d
    ob2, os2 = Opening(ob.value + d, ob.blinding), Opening(os_.value + d, os_.blinding)
    assert gens.commit(ob2.value, ob2.blinding) == Hb2
    st3 = PH.debit_statement(2, 8, _trade(T2), Hb2, Hs2, w, vm)
    VH.verify_debit(st3, prover_headroom.prove_debit(st3, ob2, os2, oq2, rng=RNG).to_bytes())


def test_receipt_message_covers_the_proof():
    T, _ = _commit(1)
    t = _trade(T)
    assert PH.receipt_message(t) == receipt_message(t)
    a, b = PH.receipt_message(t, b"proof-a"), PH.receipt_message(t, b"proof-b")
    assert a != b and a[1][:2] == receipt_message(t)[1]
