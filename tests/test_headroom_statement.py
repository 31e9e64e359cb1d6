"""The pre-trade headroom statements (issue 14 §1, zkp/headroom.py):
completeness at the exact headroom against an integer oracle, soundness
against a cheating prover with its range checks off (one minor unit over
fails), Frozen-Heart style binding of every public input (the transcript
covers the headroom point, the set, the matrix, the context, the trade
tuple, w and vm), strict encodings, bounds; the debit at novation refused
one unit short by the honest prover and the verifier."""
from __future__ import annotations

import dataclasses
import random

import pytest

from prover import headroom as PH
from prover import statements as P
from support.headroom import cheat_prove_unfolded as support_cheat_prove_unfolded
from support.statement_fixtures import commit_values, make_ctx, scan_matrix
from verifier import headroom as VH
from verifier import statements as V
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.headroom import Headroom, HeadroomDebit, headroom_of, worst_impacts
from zkp.margin import Margin, MarginModel, MarginProof
from zkp.statements import StatementError, StatementProof

RNG = SeededRng(b"headroom-statement")


def ctx(member=b"A", cycle=3, seq=17):
    return make_ctx(member, cycle, seq)


def committed(values):
    return commit_values(values, RNG)


def oracle_headroom(cash, matrix, positions):
    """Independent oracle: the largest H with H <= cash + P&L_s for every s."""
    return min(cash + sum(a * p for a, p in zip(row, positions)) for row in matrix)


def margin(cash, positions, matrix, *, set_id=b"set-h", **kw):
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    return Margin(ctx(**kw), C_cash, tuple(C_pos), matrix, set_id), [o_cash, *o_pos]


def cheat_prove(st, openings):
    """Prove whatever the derived values are (negative ones wrap mod r), the
    prover's range checks switched off."""
    import prover.rangeproof as prover_mod

    gens = generators()
    derived = st.derive_values(openings)
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        jobs = P.chunk_jobs(st, derived, gens=gens)
        proofs = tuple(P.prove_chunk(j, gens=gens, rng=RNG) for j in jobs)
    finally:
        prover_mod._check_witness = saved
    return proofs


def cheat_prove_unfolded(st, openings):
    """The same for an unfolded statement (one chunk, on its transcript fork)."""
    return support_cheat_prove_unfolded(st, openings, rng=RNG)


def with_h(st, h):
    (C_h,), (o_h,) = committed([h])
    return headroom_of(st, C_h), o_h


# -- the headroom statement of a margin run ---------------------------------------------------
def test_honest_exact_headroom():
    rnd = random.Random(1)
    for S, I in ((5, 2), (9, 3)):
        matrix = scan_matrix(rnd, S, I)
        positions = [rnd.randint(-40, 40) for _ in range(I)]
        worst = max(-sum(a * p for a, p in zip(r, positions)) for r in matrix)
        cash = worst + rnd.randint(0, 10_000)
        st, ops = margin(cash, positions, matrix)
        hst, ho, proof = PH.prove_headroom(st, ops, rng=RNG)
        assert ho.value == oracle_headroom(cash, matrix, positions) == cash - worst
        assert hst.headroom == generators().commit(ho.value, ho.blinding)
        assert len(proof.proofs) == len(hst.range_chunks()) == -(-(S + 1) // 64)
        VH.verify_headroom(hst, proof.to_bytes())
    # a member that fails its margin has no headroom to prove
    _no_headroom(matrix, positions, worst)


@pytest.mark.slow
def test_honest_two_chunks():
    rnd = random.Random(2)
    matrix = scan_matrix(rnd, 70, 2)
    positions = [7, -3]
    cash = max(-sum(a * p for a, p in zip(r, positions)) for r in matrix) + 5
    st, ops = margin(cash, positions, matrix)
    hst, ho, proof = PH.prove_headroom(st, ops, rng=RNG)
    assert ho.value == 5 and len(proof.proofs) == 2
    VH.verify_headroom(hst, proof.to_bytes())


def _no_headroom(matrix, positions, worst):
    st, ops = margin(worst - 1, positions, matrix)
    with pytest.raises(ProvingError, match="no headroom"):
        PH.prove_headroom(st, ops, rng=RNG)


def test_cheating_prover_one_unit_over():
    rnd = random.Random(3)
    matrix = scan_matrix(rnd, 7, 2)
    positions = [13, -21]
    cash = 10 ** 6
    h = oracle_headroom(cash, matrix, positions)
    st, ops = margin(cash, positions, matrix)
    # exactly the headroom verifies even through the cheating helper (it is sound) ...
    ok, o_ok = with_h(st, h)
    VH.verify_headroom(ok, MarginProof(cheat_prove(ok, [*ops, o_ok]), ()).to_bytes())
    # ... one minor unit more does not (some E_s - H = -1 wraps mod r)
    over, o_over = with_h(st, h + 1)
    derived = over.derive_values([*ops, o_over])
    assert min((d.value + R // 2) % R - R // 2 for d in derived) == -1
    with pytest.raises(VerificationError):
        VH.verify_headroom(over, MarginProof(cheat_prove(over, [*ops, o_over]), ()).to_bytes())
    # nor does a negative headroom (H in [0, 2^64) is its own range fact)
    neg, o_neg = with_h(st, -1)
    with pytest.raises(VerificationError):
        VH.verify_headroom(neg, MarginProof(cheat_prove(neg, [*ops, o_neg]), ()).to_bytes())


@pytest.fixture(scope="module")
def pair():
    rnd = random.Random(4)
    matrix = scan_matrix(rnd, 6, 2)
    st, ops = margin(10 ** 6, [4, -9], matrix)
    hst, _, proof = PH.prove_headroom(st, ops, rng=RNG)
    return st, hst, proof


@pytest.mark.parametrize("change", [
    "headroom_point", "set_id", "plain_margin", "member", "cycle", "seq", "matrix", "cash", "position",
    "swap_positions", "swap_cash_headroom",
])
def test_every_public_input_bound(pair, change):
    st, hst, proof = pair
    gens = generators()
    if change == "headroom_point":
        other = dataclasses.replace(hst, headroom=hst.headroom + gens.G)
    elif change == "set_id":
        other = dataclasses.replace(hst, scenario_set_id=b"set-2")
    elif change == "plain_margin":
        other = st  # another kind over the same commitments (S forms, not S + 1: decoding or verification fails)
    elif change == "member":
        other = dataclasses.replace(hst, context=ctx(member=b"B"))
    elif change == "cycle":
        other = dataclasses.replace(hst, context=ctx(cycle=4))
    elif change == "seq":
        other = dataclasses.replace(hst, context=ctx(seq=18))
    elif change == "matrix":
        m = [list(r) for r in hst.matrix]
        m[2][1] += 1
        other = dataclasses.replace(hst, matrix=m)
    elif change == "cash":
        other = dataclasses.replace(hst, cash=hst.cash + gens.G)
    elif change == "position":
        other = dataclasses.replace(hst, positions=(hst.positions[0] + gens.H, hst.positions[1]))
    elif change == "swap_cash_headroom":
        other = dataclasses.replace(hst, cash=hst.headroom, headroom=hst.cash)
    else:
        other = dataclasses.replace(hst, positions=(hst.positions[1], hst.positions[0]))
    VH.verify_headroom(hst, proof.to_bytes())
    with pytest.raises(VerificationError):
        VH.verify_headroom(other, proof.to_bytes()) if isinstance(other, Headroom) else V.verify(other, proof)


def test_frozen_heart_transcript_covers_headroom(pair):
    """The range proofs are folded (they bind only the number of values), so
    the statement transcript must bind H itself: two statements differing
    only in H have different chunk seeds."""
    _, hst, _ = pair
    other = dataclasses.replace(hst, headroom=hst.headroom + generators().H)
    assert hst.FOLDED
    assert hst.transcript().clone().challenge_bytes(b"x") != other.transcript().clone().challenge_bytes(b"x")
    plain = headroom_of(Margin(hst.context, hst.cash, hst.positions, hst.mat, hst.scenario_set_id), hst.headroom)
    assert plain.transcript().clone().challenge_bytes(b"x") == hst.transcript().clone().challenge_bytes(b"x")


def test_encoding_strict(pair):
    _, hst, proof = pair
    data = proof.to_bytes()
    assert StatementProof.from_bytes(data, hst).to_bytes() == data
    assert data[:4] == bytes(4)
    for cut in (0, 3, 4, 5, 6, len(data) - 1):
        with pytest.raises(VerificationError):
            VH.verify_headroom(hst, data[:cut])
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(data + b"\x00", hst)
    with pytest.raises(DecodeError):  # aux points where none belong
        StatementProof.from_bytes((1).to_bytes(4, "big") + generators().G.encode() + data[4:], hst)
    with pytest.raises(DecodeError):  # range-proof count
        StatementProof.from_bytes(data[:4] + (2).to_bytes(2, "big") + data[6:], hst)
    rnd = random.Random(6)
    for pos in sorted({rnd.randrange(len(data)) for _ in range(30)} | {4, 5, 6, 40}):
        bad = bytearray(data)
        bad[pos] ^= 1 << rnd.randrange(8)
        with pytest.raises(VerificationError):
            VH.verify_headroom(hst, bytes(bad))


def test_folded_equals_reference(pair):
    _, hst, proof = pair
    V.verify_unfolded(hst, proof)
    weights = [RNG.randbelow(R) for _ in range(hst.num_forms())]
    coeff, g = hst.fold(weights)
    ref = [0] * len(hst.sources())
    for w, f in zip(weights, hst.forms()):
        assert f.const == 0
        for j, c in f.terms:
            ref[j] = (ref[j] + w * c) % R
    assert coeff == ref and g == 0
    with pytest.raises(StatementError):
        hst.fold(weights[:-1])


def test_bounds():
    C = generators().G
    base = Margin(ctx(), C, (C,), [[0], [5]], b"s")
    h = headroom_of(base, C)
    assert h.num_forms() == 3 and h.aux_count() == 0 and h.sources() == [C, C, C]
    es = Margin(ctx(), C, (C,), [[3], [5]], b"s", model=MarginModel("es", 1))
    with pytest.raises(StatementError, match="scan model only"):
        Headroom(ctx(), C, (C,), [[3], [5]], b"s", model=MarginModel("es", 1), headroom=C)
    with pytest.raises(StatementError, match="scan model only"):
        headroom_of(es, C)
    with pytest.raises(StatementError, match="plain"):
        headroom_of(base.solvency(), C)
    with pytest.raises(StatementError, match="plain"):
        headroom_of(h, C)
    with pytest.raises(StatementError):
        Headroom(ctx(), C, (C,), [[0], [5]], b"s")  # no headroom point
    with pytest.raises(StatementError, match="not solvency_only"):
        Headroom(ctx(), C, (C,), [[0], [5]], b"s", True, headroom=C)
    assert worst_impacts([[0, 0], [5, -9], [-7, 2]]) == (7, 9)


# -- the debit at novation -----------------------------------------------------------------------
TUPLE = b"trade-tuple-canonical"


def debit(hb, hs, q, *, w=7, vm=3, member=b"B", tuple_=TUPLE):
    (Cb, Cs, T), ops = committed([hb, hs, q])
    return HeadroomDebit(ctx(member=member), Cb, Cs, T, w, vm, tuple_), ops


def test_debit_exact_and_exhausted():
    q, w, vm = 100, 7, 3
    # buyer: H + (vm - w)*q = H - 400; seller: H + (-vm - w)*q = H - 1000
    st, ops = debit(400, 1000, q, w=w, vm=vm)
    assert [o.value for o in PH.debited(st, *ops)] == [0, 0]
    VH.verify_debit(st, PH.prove_debit(st, *ops, rng=RNG).to_bytes())
    for hb, hs in ((399, 1000), (400, 999)):
        st, ops = debit(hb, hs, q, w=w, vm=vm)
        with pytest.raises(ProvingError, match="pre-trade headroom exhausted"):
            PH.prove_debit(st, *ops, rng=RNG)
        proof = StatementProof(cheat_prove_unfolded(st, ops))
        with pytest.raises(VerificationError):
            VH.verify_debit(st, proof.to_bytes())


@pytest.fixture(scope="module")
def debit_pair():
    st, ops = debit(5000, 6000, 100)
    return st, PH.prove_debit(st, *ops, rng=RNG)


@pytest.mark.parametrize("change", ["w", "vm", "vm_sign", "tuple", "member", "H_buyer", "H_seller", "T", "swap"])
def test_debit_every_public_input_bound(debit_pair, change):
    st, proof = debit_pair
    gens = generators()
    other = {
        "w": lambda: dataclasses.replace(st, w=st.w - 1),
        "vm": lambda: dataclasses.replace(st, vm=st.vm + 1),
        "vm_sign": lambda: dataclasses.replace(st, vm=-st.vm),
        "tuple": lambda: dataclasses.replace(st, trade_tuple=TUPLE + b"x"),
        "member": lambda: dataclasses.replace(st, context=ctx(member=b"C")),
        "H_buyer": lambda: dataclasses.replace(st, H_buyer=st.H_buyer + gens.G),
        "H_seller": lambda: dataclasses.replace(st, H_seller=st.H_seller + gens.G),
        "T": lambda: dataclasses.replace(st, T=st.T - gens.G),
        "swap": lambda: dataclasses.replace(st, H_buyer=st.H_seller, H_seller=st.H_buyer),
    }[change]()
    VH.verify_debit(st, proof.to_bytes())
    with pytest.raises(VerificationError):
        VH.verify_debit(other, proof.to_bytes())


def test_debit_encoding_and_bounds(debit_pair):
    st, proof = debit_pair
    data = proof.to_bytes()
    for cut in (0, 1, 2, 6, len(data) - 1):
        with pytest.raises(VerificationError):
            VH.verify_debit(st, data[:cut])
    with pytest.raises(VerificationError):
        VH.verify_debit(st, data + b"\x00")
    with pytest.raises(VerificationError):
        VH.verify_debit(st, (2).to_bytes(2, "big") + data[2:])
    rnd = random.Random(8)
    for pos in sorted({rnd.randrange(len(data)) for _ in range(20)}):
        bad = bytearray(data)
        bad[pos] ^= 1 << rnd.randrange(8)
        with pytest.raises(VerificationError):
            VH.verify_debit(st, bytes(bad))
    C = generators().G
    for kw in ({"w": -1}, {"w": 1 << 64}, {"vm": 1 << 64}, {"vm": -(1 << 64)}, {"vm": True}, {"trade_tuple": b""}):
        args = dict(context=ctx(), H_buyer=C, H_seller=C, T=C, w=1, vm=0, trade_tuple=TUPLE) | kw
        with pytest.raises(StatementError):
            HeadroomDebit(**args)
