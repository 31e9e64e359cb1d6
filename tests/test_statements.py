"""Clearing statements: completeness against the plaintext oracle, soundness,
Frozen-Heart binding of every public input, edge cases and bounds."""
from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_

from clearing.ccp.oracle import pro_rata, scenario_pnl
from prover import statements as P
from verifier import statements as V
from zkp.errors import DecodeError, ProvingError, VerificationError
from zkp.field import R, SeededRng
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import (
    AggregateOpening,
    AssessmentFromCash,
    AssessmentSettlement,
    Context,
    DefaultFunding,
    Disclosure,
    Margin,
    ProRataShares,
    RevealProofs,
    StatementError,
    StatementProof,
    TradeValidity,
    Withdrawal,
)

RNG = SeededRng(b"statements")


def ctx(member=b"A", cycle=3, seq=17):
    return Context(cycle, seq, member)


def committed(values, rng=RNG):
    gens = generators()
    ops = [Opening(v, rng.randbelow(R - 1) + 1) for v in values]
    return [gens.commit(o.value, o.blinding) for o in ops], ops


def margin_setup(cash, positions, matrix, **kw):
    (C_cash,), (o_cash,) = committed([cash])
    C_pos, o_pos = committed(positions)
    st = Margin(ctx(**kw), C_cash, tuple(C_pos), matrix, b"set-1")
    return st, [o_cash, *o_pos]


MATRIX = [[0, 0], [-500, 300], [400, -700], [-1000, -100]]


def requirement(matrix, positions):
    return max(0, -min(scenario_pnl(matrix, positions)))


# -- margin ------------------------------------------------------------------
def test_margin_completeness_and_exact_threshold():
    positions = [7, -3]
    req = requirement(MATRIX, positions)
    assert req > 0
    st, ops = margin_setup(req, positions, MATRIX)
    proof = P.prove(st, ops, rng=RNG)
    V.verify(st, proof)
    # short by one minor unit under the worst scenario: the prover refuses
    st2, ops2 = margin_setup(req - 1, positions, MATRIX)
    with pytest.raises(ProvingError):
        P.prove(st2, ops2, rng=RNG)
    # and the honest proof does not verify for the short member's statement
    with pytest.raises(VerificationError):
        V.verify(st2, proof)


@settings(max_examples=6, deadline=None)
@given(
    st_.lists(st_.integers(-50, 50), min_size=1, max_size=3),
    st_.integers(0, 200_000),
    st_.integers(2, 5),
    st_.randoms(use_true_random=False),
)
def test_margin_matches_oracle(positions, cash, S, rnd):
    I = len(positions)
    matrix = [[0] * I] + [[rnd.randint(-5000, 5000) for _ in range(I)] for _ in range(S - 1)]
    st, ops = margin_setup(cash, positions, matrix)
    pnl = scenario_pnl(matrix, positions)
    holds = all(0 <= cash + x < 1 << 64 for x in pnl)
    if holds:
        V.verify(st, P.prove(st, ops, rng=RNG))
    else:
        with pytest.raises(ProvingError):
            P.prove(st, ops, rng=RNG)


def test_solvency_only_separates_call_from_payment_default():
    positions = [10, 0]
    req = requirement(MATRIX, positions)
    st, ops = margin_setup(req // 2, positions, MATRIX)  # solvent, IM short
    proved, proof = P.prove_margin_or_solvency(st, ops, rng=RNG)
    assert proved.solvency_only
    V.verify(proved, proof)
    with pytest.raises(VerificationError):
        V.verify(st, proof)
    st_neg, ops_neg = margin_setup(-1, positions, MATRIX)  # unpaid VM
    with pytest.raises(ProvingError):
        P.prove_margin_or_solvency(st_neg, ops_neg, rng=RNG)


@pytest.fixture(scope="module")
def margin_pair():
    positions = [4, -2]
    st, ops = margin_setup(requirement(MATRIX, positions) + 123, positions, MATRIX)
    return st, ops, P.prove(st, ops, rng=SeededRng(1))


def _replace(st, **kw):
    import dataclasses

    return dataclasses.replace(st, **kw)


@pytest.mark.parametrize("change", [
    "member", "cycle", "seq", "matrix", "scenario_set", "cash", "position", "swap_positions", "solvency_flag",
])
def test_margin_frozen_heart(margin_pair, change):
    st, ops, proof = margin_pair
    if change == "member":
        other = _replace(st, context=ctx(member=b"B"))
    elif change == "cycle":
        other = _replace(st, context=ctx(cycle=4))
    elif change == "seq":
        other = _replace(st, context=ctx(seq=18))
    elif change == "matrix":
        m = [list(r) for r in MATRIX]
        m[2][1] += 1
        other = _replace(st, matrix=m)
    elif change == "scenario_set":
        other = _replace(st, scenario_set_id=b"set-2")
    elif change == "cash":
        other = _replace(st, cash=st.cash + generators().G)
    elif change == "position":
        other = _replace(st, positions=(st.positions[0] + generators().H, st.positions[1]))
    elif change == "swap_positions":
        other = _replace(st, positions=(st.positions[1], st.positions[0]))
    else:
        other = _replace(st, solvency_only=True)
    V.verify(st, proof)
    with pytest.raises(VerificationError):
        V.verify(other, proof)


def test_margin_proof_tampering(margin_pair):
    st, _, proof = margin_pair
    data = proof.to_bytes()
    assert StatementProof.from_bytes(data, st).to_bytes() == data
    V.verify(st, StatementProof.from_bytes(data, st))
    rnd = random.Random(5)
    positions = sorted(set([2, 3, 40, len(data) - 1] + [rnd.randrange(2, len(data)) for _ in range(30)]))
    for pos in positions:
        bad = bytearray(data)
        bad[pos] ^= 1 << rnd.randrange(8)
        with pytest.raises((DecodeError, VerificationError)):
            V.verify(st, StatementProof.from_bytes(bytes(bad), st))
    for cut in (0, 1, 5, len(data) - 1):
        with pytest.raises(DecodeError):
            StatementProof.from_bytes(data[:cut], st)
    with pytest.raises(DecodeError):
        StatementProof.from_bytes(data + b"\x00", st)


def test_margin_edge_cases():
    # zero positions, single instrument, S not a power of two
    st, ops = margin_setup(0, [0], [[0], [5], [-7]])
    V.verify(st, P.prove(st, ops, rng=RNG))
    # maximum coefficient and a large position: no wrap-around, exact verdict
    big = (1 << 64) - 1
    matrix = [[0, 0], [big, -big], [-1, 1]]
    positions = [1 << 20, 1 << 20]
    st, ops = margin_setup(1 << 20, positions, matrix)   # scenario 2: cash + 0 = ok; scenario 1: 0
    V.verify(st, P.prove(st, ops, rng=RNG))
    st, ops = margin_setup(0, [1, 0], matrix)            # scenario 2: E = -1 -> false
    with pytest.raises(ProvingError):
        P.prove(st, ops, rng=RNG)
    with pytest.raises(StatementError):
        Margin(ctx(), st.cash, st.positions, [[0, 0], [1 << 64, 0]])
    with pytest.raises(StatementError):
        Margin(ctx(), st.cash, st.positions, [[1, 0], [0, 0]])   # scenario 0 must be no-move
    with pytest.raises(StatementError):
        Margin(ctx(), st.cash, st.positions, [[0, 0, 0]])
    with pytest.raises(StatementError):
        Margin(ctx(), st.cash, st.positions, [[0.5, 0]])


def test_margin_equity_at_upper_bound():
    # E_s = 2^64 - 1 is provable, 2^64 is not (the 64-bit range is exact)
    st, ops = margin_setup((1 << 64) - 1, [0], [[0]])
    V.verify(st, P.prove(st, ops, rng=RNG))
    st, ops = margin_setup(1 << 64, [0], [[0]])
    with pytest.raises(ProvingError):
        P.prove(st, ops, rng=RNG)


def test_margin_many_instruments_and_scenarios():
    I, S = 64, 64
    rnd = random.Random(9)
    positions = [rnd.randint(-3, 3) for _ in range(I)]
    matrix = [[0] * I] + [[rnd.randint(-100, 100) for _ in range(I)] for _ in range(S - 1)]
    cash = requirement(matrix, positions) + 1
    st, ops = margin_setup(cash, positions, matrix)
    V.verify(st, P.prove(st, ops, rng=RNG))


# -- withdrawal ----------------------------------------------------------------
def test_withdrawal():
    positions = [3, 1]
    req = requirement(MATRIX, positions)
    (C_cash,), (o_cash,) = committed([req + 1000])
    C_pos, o_pos = committed(positions)
    w = Withdrawal(ctx(), C_cash, tuple(C_pos), MATRIX, b"set-1", amount=1000, request=b"signed-request")
    proof = P.prove(w, [o_cash, *o_pos], rng=RNG)
    V.verify(w, proof)
    for other in (_replace(w, amount=999), _replace(w, request=b"other-request")):
        with pytest.raises(VerificationError):
            V.verify(other, proof)
    with pytest.raises(ProvingError):
        P.prove(_replace(w, amount=1001), [o_cash, *o_pos], rng=RNG)
    # a withdrawal of r - 10^6 must not become a deposit of 10^6
    for bad in (R - 10**6, -5, 0, 1 << 63):
        with pytest.raises(StatementError):
            _replace(w, amount=bad)


# -- trade validity --------------------------------------------------------------
@pytest.mark.parametrize("q,ok", [(1, True), (1 << 32, True), (0, False), ((1 << 32) + 1, False), (-1, False)])
def test_trade_validity_bounds(q, ok):
    (T,), (op,) = committed([q])
    st = TradeValidity(ctx(), T, b"trade:42|A|B|ESX|buy|500000")
    if ok:
        proof = P.prove(st, [op], rng=RNG)
        V.verify(st, proof)
        with pytest.raises(VerificationError):
            V.verify(_replace(st, trade_tuple=b"trade:42|A|B|ESX|buy|500025"), proof)
        with pytest.raises(VerificationError):
            V.verify(_replace(st, T=T + generators().G), proof)
    else:
        with pytest.raises(ProvingError):
            P.prove(st, [op], rng=RNG)


def test_prover_refuses_wrong_opening():
    (T,), (op,) = committed([5])
    st = TradeValidity(ctx(), T, b"t")
    with pytest.raises(ProvingError):
        P.prove(st, [Opening(6, op.blinding)], rng=RNG)


# -- default funding, assessment settlement ----------------------------------------
def _cheat_prove(st, openings):
    """A cheating prover with the range check switched off: proves whatever
    the derived values are (wrapped mod r when negative)."""
    import prover.rangeproof as prover_mod
    from zkp.statements import chunk_transcript, derive_openings, range_chunks
    gens = generators()
    derived = derive_openings(openings, st.forms())
    base = st.transcript(gens)
    proofs = []
    saved = prover_mod._check_witness
    prover_mod._check_witness = lambda *a: None
    try:
        for k, idx in enumerate(range_chunks(st)):
            proofs.append(prover_mod.prove_range(
                chunk_transcript(st, k, base, gens), [derived[i].value for i in idx],
                [derived[i].blinding for i in idx], st.BITS, gens=gens, rng=RNG))
    finally:
        prover_mod._check_witness = saved
    return StatementProof(tuple(proofs))


def funding_setup(cash, old, new):
    (C_cash, C_old, C_new), ops = committed([cash, old, new])
    return DefaultFunding(ctx(), C_cash, C_new, epoch=1, previous=C_old), [ops[2], ops[0], ops[1]]


def test_default_funding_replaces_and_stays_solvent():
    # a top-up from 4,000 to 9,000 with 5,000 of cash: exactly solvent afterwards
    st, ops = funding_setup(5_000, 4_000, 9_000)
    proof = P.prove(st, ops, rng=RNG)
    V.verify(st, proof)
    # every public input is bound (Frozen Heart)
    gens = generators()
    for other in (_replace(st, epoch=2), _replace(st, previous=st.previous + gens.G),
                  _replace(st, cash=st.cash + gens.G), _replace(st, df=st.df + gens.G),
                  _replace(st, context=ctx(seq=18)), _replace(st, context=ctx(member=b"B"))):
        with pytest.raises(VerificationError):
            V.verify(other, proof)
    # a reduction (money back to cash) and an unchanged, re-randomised amount
    for cash, old, new in ((0, 4_000, 1_000), (10, 4_000, 4_000), (0, 0, 0)):
        st2, ops2 = funding_setup(cash, old, new)
        V.verify(st2, P.prove(st2, ops2, rng=RNG))
    # moving more than the cash into the fund (would leave cash at -1) is refused
    st3, ops3 = funding_setup(5_000, 4_000, 9_001)
    with pytest.raises(ProvingError):
        P.prove(st3, ops3, rng=RNG)
    # ... and a cheating prover with the range check off cannot make it verify
    with pytest.raises(VerificationError):
        V.verify(st3, _cheat_prove(st3, ops3))
    # a negative contribution is refused
    st4, ops4 = funding_setup(5_000, 0, -1)
    with pytest.raises(ProvingError):
        P.prove(st4, ops4, rng=RNG)
    # the first funding: previous defaults to the identity (no contribution yet)
    (C_cash, C_df), (o_cash, o_df) = committed([10_000, 4_000])
    st5 = DefaultFunding(ctx(), C_cash, C_df, epoch=0)
    V.verify(st5, P.prove(st5, [o_df, o_cash, Opening(0, 0)], rng=RNG))


def test_assessment_from_cash():
    positions = [3, 1]
    req = requirement(MATRIX, positions)
    due = 777
    (C_cash, C_due), (o_cash, o_due) = committed([req + due, due])
    C_pos, o_pos = committed(positions)
    st = AssessmentFromCash(ctx(), C_cash, tuple(C_pos), MATRIX, b"set-1", due=C_due, request=b"signed")
    ops = [o_cash, *o_pos, o_due]
    proof = P.prove(st, ops, rng=RNG)
    V.verify(st, proof)
    gens = generators()
    for other in (_replace(st, request=b"other"), _replace(st, due=C_due + gens.G),
                  _replace(st, cash=C_cash + gens.G), _replace(st, scenario_set_id=b"set-2"),
                  _replace(st, context=ctx(seq=18))):
        with pytest.raises(VerificationError):
            V.verify(other, proof)
    # a plain margin proof on the same account is not a settlement proof (statement swap)
    m = Margin(ctx(), C_cash, tuple(C_pos), MATRIX, b"set-1")
    with pytest.raises(VerificationError):
        V.verify(m, proof)
    # short by one minor unit after paying: refused, and a cheating prover fails too
    (C_cash2,), (o_cash2,) = committed([req + due - 1])
    st2 = _replace(st, cash=C_cash2)
    with pytest.raises(ProvingError):
        P.prove(st2, [o_cash2, *o_pos, o_due], rng=RNG)
    with pytest.raises(VerificationError):
        V.verify(st2, _cheat_prove(st2, [o_cash2, *o_pos, o_due]))
    # the cheating prover does produce verifying proofs of true statements (the helper is sound)
    V.verify(st, _cheat_prove(st, ops))
    with pytest.raises(StatementError):
        AssessmentFromCash(ctx(), C_cash, tuple(C_pos), MATRIX, b"set-1", True, due=C_due, request=b"s")
    with pytest.raises(StatementError):
        AssessmentFromCash(ctx(), C_cash, tuple(C_pos), MATRIX, b"set-1", due=C_due, request=b"")


def test_assessment_settlement():
    (C_due,), (o_due,) = committed([777])
    st = AssessmentSettlement(ctx(), C_due, 777, b"assessment:1")
    proof = P.prove(st, [o_due], rng=RNG)
    V.verify(st, proof)
    with pytest.raises(VerificationError):
        V.verify(_replace(st, deposit=778), proof)
    with pytest.raises(VerificationError):
        V.verify(_replace(st, tag=b"assessment:2"), proof)
    with pytest.raises(ProvingError):
        P.prove(_replace(st, deposit=776), [o_due], rng=RNG)


# -- pro-rata shares -----------------------------------------------------------------
def shares_setup(dfs, R_amount):
    C_df, o_df = committed(dfs)
    members = [f"M{j}".encode() for j in range(len(dfs))]
    D0 = sum(dfs)
    st, proof, sh = P.pro_rata_shares(ctx(member=b"CCP"), b"default-fund", R_amount, D0, members, C_df, o_df, rng=RNG)
    return st, proof, sh, o_df


def test_pro_rata_matches_oracle_and_opens():
    dfs = [3_363_510_276, 1_061_026_352, 465_262_892, 1_731_685_789]
    R_amount = 2_000_000_001
    st, proof, sh, _ = shares_setup(dfs, R_amount)
    V.verify(st, proof)
    shares, residual = pro_rata(R_amount, dfs)
    assert [o.value for o in sh] == shares
    assert 0 <= residual < len(dfs)
    # the aggregate of the charges opens to R - k over the full survivor set
    agg = AggregateOpening(ctx(member=b"CCP"), b"t4-charges", st.members, st.shares, R_amount - residual, st.members)
    V.verify_reveals(agg, P.prove_reveals(agg, sh, rng=RNG))


def test_pro_rata_forged_shares_fail():
    dfs = [500, 300, 200]
    st, proof, sh, o_df = shares_setup(dfs, 333)
    gens = generators()
    # a share off by one (either way), or with remainder >= D0, cannot be proved
    # and the honest proof does not transfer to the forged statement
    for j, delta in ((0, 1), (1, -1), (2, 1)):
        forged_open = list(sh)
        forged_open[j] = Opening(sh[j].value + delta, sh[j].blinding)
        forged = _replace(st, shares=tuple(gens.commit(o.value, o.blinding) for o in forged_open))
        with pytest.raises(ProvingError):
            P.prove(forged, list(o_df) + forged_open, rng=RNG)
        with pytest.raises(VerificationError):
            V.verify(forged, proof)
    for change in ({"R_amount": 334}, {"D0": 1001}, {"purpose": b"assessment"},
                   {"members": (b"M0", b"M2", b"M1")}, {"context": ctx(member=b"CCP", cycle=9)}):
        with pytest.raises(VerificationError):
            V.verify(_replace(st, **change), proof)


def test_pro_rata_many_survivors_chunked():
    rnd = random.Random(3)
    dfs = [rnd.randint(10**6, 10**9) for _ in range(25)]   # two chunks
    R_amount = sum(dfs) // 3
    st, proof, sh, _ = shares_setup(dfs, R_amount)
    assert len(proof.proofs) == 2
    V.verify(st, proof)
    assert [o.value for o in sh] == pro_rata(R_amount, dfs)[0]


def test_pro_rata_bounds():
    (C,), _ = committed([1])
    with pytest.raises(StatementError):   # R >= D0: everyone pays in full, no proof
        ProRataShares(ctx(), b"default-fund", 10, 10, (b"A",), (C,), (C,))
    with pytest.raises(StatementError):
        ProRataShares(ctx(), b"default-fund", 0, 10, (b"A",), (C,), (C,))
    with pytest.raises(StatementError):
        ProRataShares(ctx(), b"other", 1, 10, (b"A",), (C,), (C,))


# -- disclosure and aggregate opening ---------------------------------------------------
def test_disclosure():
    values = [1200, -300, 4_300_000_000, 3_363_510_276]
    Cs, ops = committed(values)
    st = Disclosure(ctx(), b"declaration:A:cycle4", (b"pos:ESX", b"pos:NQX", b"cash", b"df"), tuple(Cs), tuple(values))
    proof = P.prove_reveals(st, ops, rng=RNG)
    V.verify_reveals(st, proof)
    V.verify_reveals(st, RevealProofs.from_bytes(proof.to_bytes(), 4))
    wrong = list(values)
    wrong[1] -= 1
    with pytest.raises(VerificationError):
        V.verify_reveals(_replace(st, values=tuple(wrong)), proof)
    with pytest.raises(VerificationError):
        V.verify_reveals(_replace(st, declaration=b"declaration:A:cycle5"), proof)
    with pytest.raises(ProvingError):
        P.prove_reveals(_replace(st, values=tuple(wrong)), ops, rng=RNG)
    with pytest.raises(DecodeError):
        RevealProofs.from_bytes(proof.to_bytes()[:-1], 4)


def test_aggregate_opening_full_population_only():
    Cs, ops = committed([5, 6, 7])
    members = (b"A", b"B", b"C")
    st = AggregateOpening(ctx(), b"D0", members, tuple(Cs), 18, members)
    V.verify_reveals(st, P.prove_reveals(st, ops, rng=RNG))
    with pytest.raises(StatementError):
        AggregateOpening(ctx(), b"D0", members[:2], tuple(Cs[:2]), 11, members)
    with pytest.raises(VerificationError):
        V.verify_reveals(_replace(st, value=19), P.prove_reveals(st, ops, rng=RNG))


# -- batch -------------------------------------------------------------------------------
def test_verify_many_names_the_bad_statement(margin_pair):
    st, ops, proof = margin_pair
    items = []
    for k in range(4):
        s2, o2 = margin_setup(5000 + k, [1, 1], MATRIX, member=f"M{k}".encode())
        items.append((s2, P.prove(s2, o2, rng=RNG)))
    V.verify_many(items)
    bad = list(items)
    bad[2] = (bad[2][0], items[1][1])   # another member's proof
    with pytest.raises(V.BatchVerificationError) as ei:
        V.verify_many(bad)
    assert ei.value.failed == [2]


def test_assessment_shares_above_d0_up_to_cap():
    dfs = [400, 350, 250]
    D0 = sum(dfs)
    C_df, o_df = committed(dfs)
    members = [b"C", b"D", b"E"]
    R_amount = 2 * D0 - 7                     # between D0 and a*D0 with a = 2
    st, proof, sh = P.pro_rata_shares(ctx(member=b"CCP"), b"assessment", R_amount, D0, members, C_df, o_df,
                                      cap_multiple=2, rng=RNG)
    V.verify(st, proof)
    assert [o.value for o in sh] == pro_rata(R_amount, dfs)[0]
    assert all(o.value <= 2 * d for o, d in zip(sh, dfs))
    with pytest.raises(VerificationError):
        V.verify(_replace(st, cap_multiple=3), proof)
    with pytest.raises(StatementError):
        _replace(st, R_amount=2 * D0)         # at the cap: pay in full, no proof
    with pytest.raises(StatementError):
        _replace(st, purpose=b"default-fund")  # tranche 4 has cap 1


def test_reveal_bounds_agree_with_sigma():
    from zkp.sigma import REVEAL_BOUND

    (C,), _ = committed([1])
    Disclosure(ctx(), b"d", (b"cash",), (C,), (REVEAL_BOUND - 1,))
    for bad in (REVEAL_BOUND, -REVEAL_BOUND):
        with pytest.raises(StatementError):
            Disclosure(ctx(), b"d", (b"cash",), (C,), (bad,))
